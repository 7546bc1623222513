import type { ExportFileStore } from '../../export/export-file-store.js';
import type { FrameSink } from '../../export/sealed-ndjson-file.js';
import type { PostgresDatabase } from './postgres-database.js';

/**
 * Bulk-export files as rows of the member's database (schema version 7, decision 0033): one row per
 * sealed frame (about 1 MiB of NDJSON, AES-256-GCM under the job's key, bound to job, file, position
 * and last-ness), so every host of the member serves a download. Each frame is one committed INSERT;
 * the job is marked complete only after its last frame is stored. Reads take one frame at a time, so
 * a download holds one frame in memory whatever the file's size.
 */
export class PostgresExportFileStore implements ExportFileStore {
  constructor(private readonly db: PostgresDatabase) {}

  async prepare(jobId: string): Promise<void> {
    await this.remove(jobId);
  }

  async create(jobId: string, fileName: string): Promise<FrameSink> {
    let index = 0;
    return {
      write: async (frame) => {
        await this.db.execute(
          'INSERT INTO export_file_frames (job_id, file_name, frame_index, frame) VALUES ($1, $2, $3, $4)',
          [jobId, fileName, index, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)],
        );
        index++;
      },
      close: async () => undefined,
      abandon: async () => undefined,
    };
  }

  async *frames(jobId: string, fileName: string): AsyncGenerator<Uint8Array> {
    for (let index = 0; ; index++) {
      const rows = await this.db.query<{ frame: Buffer }>(
        'SELECT frame FROM export_file_frames WHERE job_id = $1 AND file_name = $2 AND frame_index = $3',
        [jobId, fileName, index],
      );
      const row = rows[0];
      if (row === undefined) return;
      yield row.frame;
    }
  }

  async remove(jobId: string): Promise<void> {
    await this.db.execute('DELETE FROM export_file_frames WHERE job_id = $1', [jobId]);
  }
}
