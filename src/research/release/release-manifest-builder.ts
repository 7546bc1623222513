import { createHash } from 'node:crypto';
import type { Address } from 'viem';
import type { ExportJob } from '../../export/index.js';
import {
  RELEASE_MANIFEST_VERSION,
  type ReleaseCounts,
  type ReleaseFileEntry,
  type ReleaseManifest,
  type ReleaseRound,
} from './release-manifest.js';
import type { ReleaseRecord } from './release-record-store.js';

export interface ReleaseManifestInput {
  /** The completed bulk job of the release. */
  readonly job: ExportJob;
  readonly record: ReleaseRecord;
  readonly k: number;
  readonly counts: ReleaseCounts;
  readonly round?: ReleaseRound;
  readonly member: Address;
  readonly fileUrl: (fileName: string) => string;
  /** The file's plaintext NDJSON frames, exactly as a download streams them. */
  readonly openFile: (fileName: string) => Promise<AsyncIterable<Uint8Array>>;
}

/** The manifest of a completed release job: each file hashed over the bytes a download receives. */
export async function createReleaseManifest(input: ReleaseManifestInput): Promise<ReleaseManifest> {
  const entry = async (file: ExportJob['output'][number]): Promise<ReleaseFileEntry> => {
    const hash = createHash('sha256');
    for await (const frame of await input.openFile(file.fileName)) hash.update(frame);
    return {
      type: file.type,
      url: input.fileUrl(file.fileName),
      count: file.count,
      extension: { sha256: hash.digest('hex') },
    };
  };
  const output: ReleaseFileEntry[] = [];
  for (const file of input.job.output) output.push(await entry(file));
  const error: ReleaseFileEntry[] = [];
  for (const file of input.job.errors) error.push(await entry(file));
  return {
    transactionTime: input.job.transactionTime,
    request: input.job.requestUrl,
    requiresAccessToken: true,
    output,
    error,
    extension: {
      format: RELEASE_MANIFEST_VERSION,
      studyId: input.record.studyId,
      member: input.member,
      profileHash: input.record.profileHash,
      consentBlock: input.record.consentBlock,
      k: input.k,
      counts: input.counts,
      ...(input.round === undefined ? {} : { round: input.round }),
    },
  };
}
