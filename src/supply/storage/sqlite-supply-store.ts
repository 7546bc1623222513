import type { Migration, SqliteDatabase } from '../../storage/sqlite/open-database.js';
import type {
  DispenseRecord,
  EpcisEventFilter,
  EpcRole,
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
];

interface EventRow {
  event_hash: string;
  event_id: string | null;
  event_type: string;
  event_time: string;
  record_time: string;
  action: string | null;
  biz_step: string | null;
  disposition: string | null;
  biz_location: string | null;
  read_point: string | null;
  log_index: number;
  json: string;
}

interface DispenseRow {
  pack_key: string;
  lot_key: string;
  medication_dispense_id: string;
  patient_id: string;
  prescriber: string | null;
  dispensed_at: string;
}

export class SqliteSupplyStore implements SupplyStore {
  constructor(private readonly db: SqliteDatabase) {}

  async saveEvent(event: StoredEpcisEvent): Promise<boolean> {
    return this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          `INSERT OR IGNORE INTO epcis_events (event_hash, event_id, event_type, event_time, record_time, action,
             biz_step, disposition, biz_location, read_point, log_index, json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          event.eventHash,
          event.eventId ?? null,
          event.eventType,
          event.eventTime,
          event.recordTime,
          event.action ?? null,
          event.bizStep ?? null,
          event.disposition ?? null,
          event.bizLocation ?? null,
          event.readPoint ?? null,
          event.logIndex,
          event.json,
        );
      if (inserted.changes === 0) return false;
      const epc = this.db.prepare('INSERT INTO epcis_event_epcs (event_hash, role, epc) VALUES (?, ?, ?)');
      for (const item of event.epcs) epc.run(event.eventHash, item.role, item.epc);
      return true;
    })();
  }

  async eventByHash(eventHash: string): Promise<StoredEpcisEvent | undefined> {
    const row = this.db.prepare('SELECT * FROM epcis_events WHERE event_hash = ?').get(eventHash) as
      | EventRow
      | undefined;
    return row === undefined ? undefined : this.toEvent(row);
  }

  async queryEvents(filter: EpcisEventFilter): Promise<StoredEpcisEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const anyOf = (column: string, values: readonly string[] | undefined) => {
      if (values === undefined) return;
      where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    };
    anyOf('event_type', filter.eventTypes);
    anyOf('action', filter.actions);
    anyOf('biz_step', filter.bizSteps);
    anyOf('disposition', filter.dispositions);
    anyOf('biz_location', filter.bizLocations);
    anyOf('read_point', filter.readPoints);
    anyOf('event_id', filter.eventIds);
    const bound = (column: string, op: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} ${op} ?`);
      params.push(value);
    };
    bound('event_time', '>=', filter.eventTimeFrom);
    bound('event_time', '<', filter.eventTimeBefore);
    bound('record_time', '>=', filter.recordTimeFrom);
    bound('record_time', '<', filter.recordTimeBefore);
    for (const match of filter.epcMatches ?? []) {
      const alternatives = match.patterns.map((pattern) => {
        if (pattern.endsWith('*')) {
          params.push(`${escapeLike(pattern.slice(0, -1))}%`);
          return "e.epc LIKE ? ESCAPE '\\'";
        }
        params.push(pattern);
        return 'e.epc = ?';
      });
      params.push(...match.roles);
      where.push(
        `event_hash IN (SELECT e.event_hash FROM epcis_event_epcs e WHERE (${alternatives.join(' OR ')})
           AND e.role IN (${match.roles.map(() => '?').join(', ')}))`,
      );
    }
    if (filter.after !== undefined) {
      where.push('(record_time, event_hash) > (?, ?)');
      params.push(filter.after.recordTime, filter.after.eventHash);
    }
    const sql = `SELECT * FROM epcis_events ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
      ORDER BY record_time, event_hash LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, filter.limit) as EventRow[];
    return rows.map((row) => this.toEvent(row));
  }

  async claimDispense(record: DispenseRecord): Promise<boolean> {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO supply_dispenses (pack_key, lot_key, medication_dispense_id, patient_id, prescriber, dispensed_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.packKey,
        record.lotKey,
        record.medicationDispenseId,
        record.patientId,
        record.prescriber ?? null,
        record.dispensedAt,
      );
    return result.changes === 1;
  }

  async releaseDispense(packKey: string, medicationDispenseId: string): Promise<void> {
    this.db
      .prepare('DELETE FROM supply_dispenses WHERE pack_key = ? AND medication_dispense_id = ?')
      .run(packKey, medicationDispenseId);
  }

  async dispensesOfLot(lotKey: string): Promise<DispenseRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM supply_dispenses WHERE lot_key = ? ORDER BY dispensed_at')
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
      | { recall_id: string; patients: number; handled_at: string }
      | undefined;
    return row === undefined
      ? undefined
      : { recallId: row.recall_id, patients: row.patients, handledAt: row.handled_at };
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

  private toEvent(row: EventRow): StoredEpcisEvent {
    const epcs = this.db
      .prepare('SELECT role, epc FROM epcis_event_epcs WHERE event_hash = ? ORDER BY rowid')
      .all(row.event_hash) as { role: EpcRole; epc: string }[];
    return {
      eventHash: row.event_hash,
      ...(row.event_id === null ? {} : { eventId: row.event_id }),
      eventType: row.event_type,
      eventTime: row.event_time,
      recordTime: row.record_time,
      ...(row.action === null ? {} : { action: row.action }),
      ...(row.biz_step === null ? {} : { bizStep: row.biz_step }),
      ...(row.disposition === null ? {} : { disposition: row.disposition }),
      ...(row.biz_location === null ? {} : { bizLocation: row.biz_location }),
      ...(row.read_point === null ? {} : { readPoint: row.read_point }),
      epcs,
      logIndex: row.log_index,
      json: row.json,
    };
  }
}

function toDispense(row: DispenseRow): DispenseRecord {
  return {
    packKey: row.pack_key,
    lotKey: row.lot_key,
    medicationDispenseId: row.medication_dispense_id,
    patientId: row.patient_id,
    ...(row.prescriber === null ? {} : { prescriber: row.prescriber }),
    dispensedAt: row.dispensed_at,
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
