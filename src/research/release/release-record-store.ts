/**
 * What a member keeps of each study release besides the bulk job: the consent snapshot's block and
 * the profile (to rebuild the plan if the node restarts mid-run), then the sealed manifest, its hash
 * and the contributors' credit addresses (to anchor it, again if anchoring has to be retried). No PHI:
 * ids, hashes, counts and per-study credit addresses, which go on chain anyway.
 *
 * Kept as one small JSON file per release beside the export files (`<data>/research-releases/`), so
 * it works alike on SQLite and PostgreSQL nodes without a schema change; written by rename, so a
 * crash leaves the old or the new record, never half of one.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import type { ReleaseManifest } from './release-manifest.js';

export type ReleaseState = 'running' | 'sealed' | 'anchored' | 'failed';

export interface ReleaseRecord {
  readonly jobId: string;
  readonly studyId: Hex;
  /** Decimal block number. */
  readonly consentBlock: string;
  readonly profileHash: Hex;
  readonly createdAt: string;
  readonly state: ReleaseState;
  readonly manifest?: ReleaseManifest;
  readonly manifestHash?: Hex;
  readonly contributors?: readonly Address[];
  /** Why it failed (no PHI: our own error messages). */
  readonly failure?: string;
}

export interface ReleaseRecordStore {
  save(record: ReleaseRecord): Promise<void>;
  get(jobId: string): Promise<ReleaseRecord | undefined>;
  list(): Promise<ReleaseRecord[]>;
}

const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;

export class FileReleaseRecordStore implements ReleaseRecordStore {
  constructor(private readonly dir: string) {}

  async save(record: ReleaseRecord): Promise<void> {
    if (!JOB_ID.test(record.jobId)) throw new Error('not a job id');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${record.jobId}.json`);
    await writeFile(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }

  async get(jobId: string): Promise<ReleaseRecord | undefined> {
    if (!JOB_ID.test(jobId)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dir, `${jobId}.json`), 'utf8')) as ReleaseRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(): Promise<ReleaseRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records: ReleaseRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const record = await this.get(name.slice(0, -'.json'.length));
      if (record !== undefined) records.push(record);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
