import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileFrameSink, type FrameSink, readFileFrames } from './sealed-ndjson-file.js';

/**
 * Where a job's sealed files live (decision 0033). On SQLite the member is one host: a folder of the
 * node (`exports/<job>/`). On PostgreSQL the member may run on several hosts behind a load balancer,
 * and the job row is shared, so the files are too: their sealed frames are rows of the member's
 * database, and a status poll or download that lands on another host finds them.
 */
export interface ExportFileStore {
  /** Removes whatever a job kept (a re-run after a crash starts over) and makes room for its files. */
  prepare(jobId: string): Promise<void>;
  /** A new file of the job; its frames arrive in order. */
  create(jobId: string, fileName: string): Promise<FrameSink>;
  /** A file's frames, in order (nothing when there is no such file: the reader reports it truncated). */
  frames(jobId: string, fileName: string): AsyncIterable<Uint8Array>;
  /** Removes the job's files. */
  remove(jobId: string): Promise<void>;
}

/** Files in `dir/<job>/` (owner-only). */
export function createFolderExportFileStore(dir: string): ExportFileStore {
  return {
    async prepare(jobId) {
      await rm(join(dir, jobId), { recursive: true, force: true });
      await mkdir(join(dir, jobId), { recursive: true, mode: 0o700 });
    },
    create: (jobId, fileName) => createFileFrameSink(join(dir, jobId, fileName)),
    frames: (jobId, fileName) => readFileFrames(join(dir, jobId, fileName)),
    async remove(jobId) {
      await rm(join(dir, jobId), { recursive: true, force: true });
    },
  };
}
