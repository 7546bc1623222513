/**
 * Telehealth shares (issue 22, decision 0030): what a patient shared, with whom, until when. Only
 * hashes of the link secret, the one-time code and the viewing session are kept; the stated purpose
 * is the patient's own words (no record content).
 */
import type { Migration, SqliteDatabase } from '../storage/sqlite/open-database.js';

export const shareMigrations: Migration[] = [
  {
    id: 'telehealth-share-001',
    sql: `
      CREATE TABLE telehealth_shares (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX telehealth_shares_by_patient ON telehealth_shares (patient_id);
    `,
  },
];

export interface TelehealthShare {
  readonly id: string;
  readonly patientId: string;
  /** Data categories (src/ledger/codes.ts DataCategory) the clinician may read. */
  readonly categories: readonly string[];
  /** The patient's words for why ("second opinion on my knee"), audited with every access. */
  readonly purposeText: string;
  /** Who it is for, as the patient named them (shown back to the patient only). */
  readonly recipient: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt?: string;
  /** SHA-256 hex of the link secret. */
  readonly linkHash: string;
  /** SHA-256 hex of the one-time code, given to the clinician separately. */
  readonly codeHash: string;
  /** When the code was used (a code opens the share once). */
  readonly codeUsedAt?: string;
  /** SHA-256 hex of the viewing session the code opened. */
  readonly sessionHash?: string;
}

export interface ShareStore {
  insert(share: TelehealthShare): Promise<void>;
  get(id: string): Promise<TelehealthShare | undefined>;
  listByPatient(patientId: string): Promise<TelehealthShare[]>;
  /** Replaces the share only if it is still `expected` (optimistic: a code is used once). */
  replace(expected: TelehealthShare, next: TelehealthShare): Promise<boolean>;
}

export class SqliteShareStore implements ShareStore {
  constructor(private readonly db: SqliteDatabase) {}

  async insert(share: TelehealthShare): Promise<void> {
    this.db
      .prepare('INSERT INTO telehealth_shares (id, patient_id, body) VALUES (?, ?, ?)')
      .run(share.id, share.patientId, JSON.stringify(share));
  }

  async get(id: string): Promise<TelehealthShare | undefined> {
    const row = this.db.prepare('SELECT body FROM telehealth_shares WHERE id = ?').get(id) as
      | { body: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.body) as TelehealthShare);
  }

  async listByPatient(patientId: string): Promise<TelehealthShare[]> {
    const rows = this.db
      .prepare('SELECT body FROM telehealth_shares WHERE patient_id = ? ORDER BY rowid DESC')
      .all(patientId) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as TelehealthShare);
  }

  async replace(expected: TelehealthShare, next: TelehealthShare): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE telehealth_shares SET body = ? WHERE id = ? AND body = ?')
      .run(JSON.stringify(next), expected.id, JSON.stringify(expected));
    return result.changes === 1;
  }
}
