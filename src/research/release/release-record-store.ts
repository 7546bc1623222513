/**
 * What a member keeps of each study release besides the bulk job: the consent snapshot's block and
 * the profile (to rebuild the plan if the node restarts mid-run), then the sealed manifest, its hash
 * and the contributors' credit addresses (to anchor it, again if anchoring has to be retried). No PHI:
 * ids, hashes, counts and per-study credit addresses, which go on chain anyway.
 *
 * Kept in the member's database (SQLite, or PostgreSQL schema version 8: decision 0035), so a member
 * on several hosts answers a release's status, manifest and anchoring from any of them. An earlier
 * version kept one JSON file per release in `<data>/research-releases/`; those are imported on first
 * use (a record already in the database wins).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  /** The k round across members it was kicked off in (decision 0041). */
  readonly round?: string;
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

/** A release record as the database keeps it: its JSON, with the columns it is looked up by. */
export interface StoredReleaseRecord {
  readonly jobId: string;
  readonly studyId: string;
  readonly createdAt: string;
  readonly json: string;
}

/** The table of release records, implemented by the SQLite and PostgreSQL adapters. */
export interface ReleaseRecordStorage {
  /** Inserts or replaces the record of this job. */
  putRecord(record: StoredReleaseRecord): Promise<void>;
  /** Inserts the record unless the job already has one. */
  insertRecordIfAbsent(record: StoredReleaseRecord): Promise<void>;
  getRecord(jobId: string): Promise<StoredReleaseRecord | undefined>;
  /** Every record, oldest first. */
  listRecords(): Promise<StoredReleaseRecord[]>;
}

const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;

function stored(record: ReleaseRecord): StoredReleaseRecord {
  return {
    jobId: record.jobId,
    studyId: record.studyId,
    createdAt: record.createdAt,
    json: JSON.stringify(record),
  };
}

export class DatabaseReleaseRecordStore implements ReleaseRecordStore {
  private imported: Promise<void> | undefined;

  /** `legacyDir`: the folder an earlier version wrote its JSON files to, imported once per process. */
  constructor(
    private readonly storage: ReleaseRecordStorage,
    private readonly legacyDir?: string,
  ) {}

  async save(record: ReleaseRecord): Promise<void> {
    if (!JOB_ID.test(record.jobId)) throw new Error('not a job id');
    await this.importLegacyFiles();
    await this.storage.putRecord(stored(record));
  }

  async get(jobId: string): Promise<ReleaseRecord | undefined> {
    if (!JOB_ID.test(jobId)) return undefined;
    await this.importLegacyFiles();
    const row = await this.storage.getRecord(jobId);
    return row === undefined ? undefined : (JSON.parse(row.json) as ReleaseRecord);
  }

  async list(): Promise<ReleaseRecord[]> {
    await this.importLegacyFiles();
    return (await this.storage.listRecords()).map((row) => JSON.parse(row.json) as ReleaseRecord);
  }

  private importLegacyFiles(): Promise<void> {
    this.imported ??= (async () => {
      const dir = this.legacyDir;
      if (dir === undefined || !existsSync(dir)) return;
      for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
        const record = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ReleaseRecord;
        if (JOB_ID.test(record.jobId)) await this.storage.insertRecordIfAbsent(stored(record));
      }
    })();
    return this.imported;
  }
}

/** One JSON file per release in a folder: a node whose composition root passes no database store. */
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
