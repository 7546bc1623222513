import type { Address, Hex } from 'viem';
import type { ConsentOpening, ConsentOpeningStore } from '../../consent/consent-opening.js';
import type {
  LedgerKeyChallengeStore,
  StoredLedgerKeyChallenge,
} from '../../enrolment/ledger-key-challenge-store.js';
import { decodeOpening, encodeOpening, type OpeningSealer } from '../sqlite/sqlite-consent-opening-store.js';
import { type LedgerKeyChallengeRow, toChallenge } from '../sqlite/sqlite-ledger-key-challenge-store.js';
import type { PostgresDatabase } from './postgres-database.js';

/** Consent openings (decision 0013) on PostgreSQL, sealed under the node's vault key as in SQLite. */
export class PostgresConsentOpeningStore implements ConsentOpeningStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly sealer: OpeningSealer,
    private readonly now: () => number = Date.now,
  ) {}

  async save(opening: ConsentOpening): Promise<void> {
    const grantId = opening.grantId.toLowerCase() as Hex;
    const sealed = await this.sealer.seal(grantId, encodeOpening(opening));
    await this.db.execute(
      `INSERT INTO consent_openings (grant_id, patient, sealed, received_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [grantId, opening.grant.patient.toLowerCase(), sealed, this.now()],
    );
  }

  async load(grantId: Hex): Promise<ConsentOpening | undefined> {
    const id = grantId.toLowerCase() as Hex;
    const [row] = await this.db.query<{ sealed: string }>(
      'SELECT sealed FROM consent_openings WHERE grant_id = $1',
      [id],
    );
    return row === undefined ? undefined : decodeOpening(await this.sealer.open(id, row.sealed));
  }

  async grantIdsOf(patient: Address): Promise<Hex[]> {
    const rows = await this.db.query<{ grant_id: Hex }>(
      'SELECT grant_id FROM consent_openings WHERE patient = $1 ORDER BY received_at, grant_id',
      [patient.toLowerCase()],
    );
    return rows.map((row) => row.grant_id);
  }
}

/** Key-enrolment challenges on PostgreSQL; `consume` is one conditional UPDATE, so a nonce is used once. */
export class PostgresLedgerKeyChallengeStore implements LedgerKeyChallengeStore {
  constructor(private readonly db: PostgresDatabase) {}

  async insert(challenge: StoredLedgerKeyChallenge): Promise<void> {
    await this.db.execute(
      `INSERT INTO ledger_key_challenges (nonce, node, patient, key, issued_at, expires_at, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        challenge.nonce.toLowerCase(),
        challenge.node,
        challenge.patient,
        challenge.key,
        challenge.issuedAt,
        challenge.expiresAt,
        challenge.requestedBy,
      ],
    );
  }

  async get(nonce: Hex): Promise<StoredLedgerKeyChallenge | undefined> {
    const [row] = await this.db.query<LedgerKeyChallengeRow>(
      'SELECT * FROM ledger_key_challenges WHERE nonce = $1',
      [nonce.toLowerCase()],
    );
    return row === undefined ? undefined : toChallenge(row);
  }

  async consume(nonce: Hex, at: number): Promise<boolean> {
    const changed = await this.db.execute(
      'UPDATE ledger_key_challenges SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL',
      [at, nonce.toLowerCase()],
    );
    return changed === 1;
  }
}
