import type {
  CaptureJob,
  DispenseRecord,
  EpcisEventFilter,
  RecallHandled,
  StoredEpcisEvent,
  SupplyStore,
} from '../../supply/storage/supply-store.js';
import { epcisEventQuery, postgresMarker } from '../supply-event-query.js';
import {
  type CaptureJobRow,
  captureJobColumnValues,
  type DispenseRow,
  dispenseColumnValues,
  type EpcisEventEpcRow,
  type EpcisEventRow,
  eventColumnValues,
  type RecallHandledRow,
  toCaptureJob,
  toDispense,
  toRecallHandled,
  toStoredEvent,
} from '../supply-rows.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

/** Any constant, distinct from the other advisory lock keys of the node (migrations, log appends). */
const SUPPLY_FOLLOW_LOCK_KEY = 0x7375_7070_6c79;

/**
 * The supply module's tables (decision 0023) on PostgreSQL (schema version 6), shared by every
 * process of the member: an event and its EPCs commit together; a capture of an event already
 * stored, or a claim of a pack already claimed, is one `INSERT ... ON CONFLICT DO NOTHING` that
 * matches no row, so of two processes doing it at once exactly one wins (the second waits for the
 * first's commit on the unique key, then skips).
 */
export class PostgresSupplyStore implements SupplyStore {
  constructor(private readonly db: PostgresDatabase) {}

  async saveEvent(event: StoredEpcisEvent): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const inserted = await tx.execute(
        `INSERT INTO epcis_events (event_hash, event_id, event_type, event_time, record_time, action,
           biz_step, disposition, biz_location, read_point, log_index, json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (event_hash) DO NOTHING`,
        eventColumnValues(event),
      );
      if (inserted === 0) return false;
      if (event.epcs.length > 0) {
        await tx.execute(
          `INSERT INTO epcis_event_epcs (event_hash, position, role, epc)
           SELECT $1, ordinality::int, role, epc FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t (role, epc)`,
          [event.eventHash, event.epcs.map((e) => e.role), event.epcs.map((e) => e.epc)],
        );
      }
      return true;
    });
  }

  async eventByHash(eventHash: string): Promise<StoredEpcisEvent | undefined> {
    const rows = await this.db.query<EpcisEventRow>('SELECT * FROM epcis_events WHERE event_hash = $1', [
      eventHash,
    ]);
    return (await this.withEpcs(this.db, rows))[0];
  }

  async queryEvents(filter: EpcisEventFilter): Promise<StoredEpcisEvent[]> {
    const { sql, params } = epcisEventQuery(filter, postgresMarker);
    // An event's EPCs commit with it and never change, so the second statement finds them all.
    const rows = await this.db.query<EpcisEventRow>(sql, params);
    return this.withEpcs(this.db, rows);
  }

  async claimDispense(record: DispenseRecord): Promise<boolean> {
    const inserted = await this.db.execute(
      `INSERT INTO supply_dispenses (pack_key, lot_key, medication_dispense_id, patient_id, prescriber,
         dispensed_at, resource_type)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pack_key) DO NOTHING`,
      dispenseColumnValues(record),
    );
    return inserted === 1;
  }

  async releaseDispense(packKey: string, medicationDispenseId: string): Promise<void> {
    await this.db.execute(
      'DELETE FROM supply_dispenses WHERE pack_key = $1 AND medication_dispense_id = $2',
      [packKey, medicationDispenseId],
    );
  }

  async dispensesOfLot(lotKey: string): Promise<DispenseRecord[]> {
    const rows = await this.db.query<DispenseRow>(
      'SELECT * FROM supply_dispenses WHERE lot_key = $1 ORDER BY dispensed_at, pack_key',
      [lotKey],
    );
    return rows.map(toDispense);
  }

  async dispensesOfPack(packKey: string): Promise<DispenseRecord[]> {
    const rows = await this.db.query<DispenseRow>('SELECT * FROM supply_dispenses WHERE pack_key = $1', [
      packKey,
    ]);
    return rows.map(toDispense);
  }

  async recallHandled(recallId: string): Promise<RecallHandled | undefined> {
    const [row] = await this.db.query<RecallHandledRow>(
      'SELECT * FROM supply_recalls_handled WHERE recall_id = $1',
      [recallId],
    );
    return row === undefined ? undefined : toRecallHandled(row);
  }

  async saveRecallHandled(record: RecallHandled): Promise<void> {
    await this.db.execute(
      `INSERT INTO supply_recalls_handled (recall_id, patients, handled_at) VALUES ($1, $2, $3)
       ON CONFLICT (recall_id) DO UPDATE SET patients = EXCLUDED.patients, handled_at = EXCLUDED.handled_at`,
      [record.recallId, record.patients, record.handledAt],
    );
  }

  async followExclusively<T>(pass: () => Promise<T>): Promise<T> {
    // A transaction advisory lock held while the pass runs (its statements use other connections, so
    // each commits on its own): a second process waits, then finds the cursor and the recalls moved on.
    // If this process dies, its session ends and the lock with it.
    // The pass's own failure (a chain error, say) is rethrown as it is, after the empty transaction ends.
    let failed: { error: unknown } | undefined;
    const result = await this.db.transaction(async (tx) => {
      await tx.execute('SELECT pg_advisory_xact_lock($1)', [SUPPLY_FOLLOW_LOCK_KEY]);
      try {
        return await pass();
      } catch (error) {
        failed = { error };
        return undefined;
      }
    });
    if (failed !== undefined) throw failed.error;
    return result as T;
  }

  async followCursor(): Promise<number | undefined> {
    const [row] = await this.db.query<{ block: number }>(
      'SELECT block FROM supply_follow_cursor WHERE id = 1',
    );
    return row?.block;
  }

  async saveFollowCursor(block: number): Promise<void> {
    await this.db.execute(
      `INSERT INTO supply_follow_cursor (id, block) VALUES (1, $1)
       ON CONFLICT (id) DO UPDATE SET block = EXCLUDED.block`,
      [block],
    );
  }

  async saveCaptureJob(job: CaptureJob): Promise<void> {
    await this.db.execute(
      `INSERT INTO epcis_capture_jobs (capture_id, created_at, finished_at, running, success, error_behaviour,
         event_ids, errors) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (capture_id) DO UPDATE SET created_at = EXCLUDED.created_at,
         finished_at = EXCLUDED.finished_at, running = EXCLUDED.running, success = EXCLUDED.success,
         error_behaviour = EXCLUDED.error_behaviour, event_ids = EXCLUDED.event_ids, errors = EXCLUDED.errors`,
      captureJobColumnValues(job),
    );
  }

  async captureJob(captureId: string): Promise<CaptureJob | undefined> {
    const [row] = await this.db.query<CaptureJobRow>(
      'SELECT * FROM epcis_capture_jobs WHERE capture_id = $1',
      [captureId],
    );
    return row === undefined ? undefined : toCaptureJob(row);
  }

  async captureJobs(limit: number, after?: { createdAt: string; captureId: string }): Promise<CaptureJob[]> {
    const rows =
      after === undefined
        ? await this.db.query<CaptureJobRow>(
            'SELECT * FROM epcis_capture_jobs ORDER BY created_at, capture_id LIMIT $1',
            [limit],
          )
        : await this.db.query<CaptureJobRow>(
            `SELECT * FROM epcis_capture_jobs WHERE (created_at, capture_id) > ($1, $2)
             ORDER BY created_at, capture_id LIMIT $3`,
            [after.createdAt, after.captureId, limit],
          );
    return rows.map(toCaptureJob);
  }

  /** The EPCs of all `rows` in one statement, each event's in the order it named them. */
  private async withEpcs(db: PgQueryable, rows: readonly EpcisEventRow[]): Promise<StoredEpcisEvent[]> {
    if (rows.length === 0) return [];
    const epcs = await db.query<EpcisEventEpcRow & { event_hash: string }>(
      `SELECT event_hash, role, epc FROM epcis_event_epcs WHERE event_hash = ANY($1::text[])
       ORDER BY event_hash, position`,
      [rows.map((row) => row.event_hash)],
    );
    const byEvent = new Map<string, EpcisEventEpcRow[]>();
    for (const epc of epcs) {
      const list = byEvent.get(epc.event_hash) ?? [];
      list.push(epc);
      byEvent.set(epc.event_hash, list);
    }
    return rows.map((row) => toStoredEvent(row, byEvent.get(row.event_hash) ?? []));
  }
}
