import type { Migration, SqliteDatabase } from '../../storage/sqlite/open-database.js';
import { epcisEventQuery, sqliteMarker } from '../../storage/supply-event-query.js';
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
} from '../../storage/supply-rows.js';
import type {
  CaptureJob,
  DispenseRecord,
  EpcisEventFilter,
  RecallHandled,
  StoredEpcisEvent,
  SupplyStore,
} from './supply-store.js';

export const supplyMigrations: Migration[] = [
  {
    id: 'supply-001',
    // EPCIS events hold no PHI (packs, places, parties). Dispenses name local patient ids only, as the
    // record tables do; recalls are found through them (decision 0023).
    sql: `
      CREATE TABLE epcis_events (
        event_hash TEXT PRIMARY KEY,
        event_id TEXT,
        event_type TEXT NOT NULL,
        event_time TEXT NOT NULL,
        record_time TEXT NOT NULL,
        action TEXT,
        biz_step TEXT,
        disposition TEXT,
        biz_location TEXT,
        read_point TEXT,
        log_index INTEGER NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX epcis_events_by_time ON epcis_events (event_time);
      CREATE INDEX epcis_events_by_record ON epcis_events (record_time, event_hash);
      CREATE TABLE epcis_event_epcs (
        event_hash TEXT NOT NULL REFERENCES epcis_events (event_hash),
        role TEXT NOT NULL,
        epc TEXT NOT NULL
      );
      CREATE INDEX epcis_event_epcs_by_epc ON epcis_event_epcs (epc, role);
      CREATE INDEX epcis_event_epcs_by_event ON epcis_event_epcs (event_hash);
      CREATE TABLE supply_dispenses (
        pack_key TEXT PRIMARY KEY,
        lot_key TEXT NOT NULL,
        medication_dispense_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        prescriber TEXT,
        dispensed_at TEXT NOT NULL
      );
      CREATE INDEX supply_dispenses_by_lot ON supply_dispenses (lot_key);
      CREATE TABLE supply_recalls_handled (
        recall_id TEXT PRIMARY KEY,
        patients INTEGER NOT NULL,
        handled_at TEXT NOT NULL
      );
      CREATE TABLE supply_follow_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        block INTEGER NOT NULL
      );
    `,
  },
  {
    id: 'supply-002',
    // Issue 19 item 7: an implanted Device claims its unit like a MedicationDispense does.
    sql: `ALTER TABLE supply_dispenses ADD COLUMN resource_type TEXT NOT NULL DEFAULT 'MedicationDispense';`,
  },
  {
    id: 'supply-003',
    // EPCIS 2.0 REST binding: capture jobs, GET /epcis/capture/{captureID} (NOTES-SUPPLY for PostgreSQL).
    sql: `
      CREATE TABLE epcis_capture_jobs (
        capture_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        running INTEGER NOT NULL,
        success INTEGER NOT NULL,
        error_behaviour TEXT NOT NULL,
        event_ids TEXT NOT NULL,
        errors TEXT NOT NULL
      );
      CREATE INDEX epcis_capture_jobs_by_created ON epcis_capture_jobs (created_at, capture_id);
    `,
  },
];

/** The follower pass running per database file: SQLite members follow in one process (decision 0014). */
const followPasses = new Map<string, Promise<unknown>>();

export class SqliteSupplyStore implements SupplyStore {
  constructor(private readonly db: SqliteDatabase) {}

  async followExclusively<T>(pass: () => Promise<T>): Promise<T> {
    const file = this.db.name;
    const before = followPasses.get(file) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(pass);
    const settled = run.catch(() => undefined);
    followPasses.set(file, settled);
    try {
      return await run;
    } finally {
      if (followPasses.get(file) === settled) followPasses.delete(file);
    }
  }

  async saveEvent(event: StoredEpcisEvent): Promise<boolean> {
    return this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          `INSERT OR IGNORE INTO epcis_events (event_hash, event_id, event_type, event_time, record_time, action,
             biz_step, disposition, biz_location, read_point, log_index, json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...eventColumnValues(event));
      if (inserted.changes === 0) return false;
      const epc = this.db.prepare('INSERT INTO epcis_event_epcs (event_hash, role, epc) VALUES (?, ?, ?)');
      for (const item of event.epcs) epc.run(event.eventHash, item.role, item.epc);
      return true;
    })();
  }

  async eventByHash(eventHash: string): Promise<StoredEpcisEvent | undefined> {
    const row = this.db.prepare('SELECT * FROM epcis_events WHERE event_hash = ?').get(eventHash) as
      | EpcisEventRow
      | undefined;
    return row === undefined ? undefined : this.toEvent(row);
  }

  async queryEvents(filter: EpcisEventFilter): Promise<StoredEpcisEvent[]> {
    const { sql, params } = epcisEventQuery(filter, sqliteMarker);
    const rows = this.db.prepare(sql).all(...params) as EpcisEventRow[];
    return rows.map((row) => this.toEvent(row));
  }

  async claimDispense(record: DispenseRecord): Promise<boolean> {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO supply_dispenses (pack_key, lot_key, medication_dispense_id, patient_id, prescriber,
           dispensed_at, resource_type)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...dispenseColumnValues(record));
    return result.changes === 1;
  }

  async releaseDispense(packKey: string, medicationDispenseId: string): Promise<void> {
    this.db
      .prepare('DELETE FROM supply_dispenses WHERE pack_key = ? AND medication_dispense_id = ?')
      .run(packKey, medicationDispenseId);
  }

  async dispensesOfLot(lotKey: string): Promise<DispenseRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM supply_dispenses WHERE lot_key = ? ORDER BY dispensed_at, pack_key')
      .all(lotKey) as DispenseRow[];
    return rows.map(toDispense);
  }

  async dispensesOfPack(packKey: string): Promise<DispenseRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM supply_dispenses WHERE pack_key = ?')
      .all(packKey) as DispenseRow[];
    return rows.map(toDispense);
  }

  async recallHandled(recallId: string): Promise<RecallHandled | undefined> {
    const row = this.db.prepare('SELECT * FROM supply_recalls_handled WHERE recall_id = ?').get(recallId) as
      | RecallHandledRow
      | undefined;
    return row === undefined ? undefined : toRecallHandled(row);
  }

  async saveRecallHandled(record: RecallHandled): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO supply_recalls_handled (recall_id, patients, handled_at) VALUES (?, ?, ?)',
      )
      .run(record.recallId, record.patients, record.handledAt);
  }

  async followCursor(): Promise<number | undefined> {
    const row = this.db.prepare('SELECT block FROM supply_follow_cursor WHERE id = 1').get() as
      | { block: number }
      | undefined;
    return row?.block;
  }

  async saveFollowCursor(block: number): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO supply_follow_cursor (id, block) VALUES (1, ?)').run(block);
  }

  async saveCaptureJob(job: CaptureJob): Promise<void> {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO epcis_capture_jobs (capture_id, created_at, finished_at, running, success,
           error_behaviour, event_ids, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...captureJobColumnValues(job));
  }

  async captureJob(captureId: string): Promise<CaptureJob | undefined> {
    const row = this.db.prepare('SELECT * FROM epcis_capture_jobs WHERE capture_id = ?').get(captureId) as
      | CaptureJobRow
      | undefined;
    return row === undefined ? undefined : toCaptureJob(row);
  }

  async captureJobs(limit: number, after?: { createdAt: string; captureId: string }): Promise<CaptureJob[]> {
    const rows = (
      after === undefined
        ? this.db
            .prepare('SELECT * FROM epcis_capture_jobs ORDER BY created_at, capture_id LIMIT ?')
            .all(limit)
        : this.db
            .prepare(
              `SELECT * FROM epcis_capture_jobs WHERE (created_at, capture_id) > (?, ?)
               ORDER BY created_at, capture_id LIMIT ?`,
            )
            .all(after.createdAt, after.captureId, limit)
    ) as CaptureJobRow[];
    return rows.map(toCaptureJob);
  }

  private toEvent(row: EpcisEventRow): StoredEpcisEvent {
    const epcs = this.db
      .prepare('SELECT role, epc FROM epcis_event_epcs WHERE event_hash = ? ORDER BY rowid')
      .all(row.event_hash) as EpcisEventEpcRow[];
    return toStoredEvent(row, epcs);
  }
}
