import type { Address, Hex } from 'viem';
import type {
  LedgerKeyChallengeStore,
  StoredLedgerKeyChallenge,
} from '../../enrolment/ledger-key-challenge-store.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const ledgerKeyChallengeMigrations: Migration[] = [
  {
    id: 'ledger-key-challenge-001',
    // Pseudonymous ids and times only: a node-local Patient id, a ledger address, no PHI.
    sql: `
      CREATE TABLE ledger_key_challenges (
        nonce TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        patient TEXT NOT NULL,
        key TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        used_at INTEGER
      );
    `,
  },
];

export interface LedgerKeyChallengeRow {
  nonce: string;
  node: string;
  patient: string;
  key: string;
  issued_at: number;
  expires_at: number;
  requested_by: string;
  used_at: number | null;
}

export function toChallenge(row: LedgerKeyChallengeRow): StoredLedgerKeyChallenge {
  return {
    nonce: row.nonce as Hex,
    node: row.node,
    patient: row.patient,
    key: row.key as Address,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    requestedBy: row.requested_by,
    ...(row.used_at === null ? {} : { usedAt: row.used_at }),
  };
}

export class SqliteLedgerKeyChallengeStore implements LedgerKeyChallengeStore {
  private readonly sql;

  constructor(db: SqliteDatabase) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO ledger_key_challenges (nonce, node, patient, key, issued_at, expires_at, requested_by)
         VALUES (@nonce, @node, @patient, @key, @issuedAt, @expiresAt, @requestedBy)`,
      ),
      get: db.prepare('SELECT * FROM ledger_key_challenges WHERE nonce = ?'),
      consume: db.prepare('UPDATE ledger_key_challenges SET used_at = ? WHERE nonce = ? AND used_at IS NULL'),
    };
  }

  async insert(challenge: StoredLedgerKeyChallenge): Promise<void> {
    this.sql.insert.run({
      nonce: challenge.nonce.toLowerCase(),
      node: challenge.node,
      patient: challenge.patient,
      key: challenge.key,
      issuedAt: challenge.issuedAt,
      expiresAt: challenge.expiresAt,
      requestedBy: challenge.requestedBy,
    });
  }

  async get(nonce: Hex): Promise<StoredLedgerKeyChallenge | undefined> {
    const row = this.sql.get.get(nonce.toLowerCase()) as LedgerKeyChallengeRow | undefined;
    return row === undefined ? undefined : toChallenge(row);
  }

  async consume(nonce: Hex, at: number): Promise<boolean> {
    return this.sql.consume.run(at, nonce.toLowerCase()).changes === 1;
  }
}
