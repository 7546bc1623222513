import type { Address, Hex } from 'viem';
import type { ConsentOpening, ConsentOpeningStore } from '../../consent/consent-opening.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const consentOpeningMigrations: Migration[] = [
  {
    // Decision 0013: the openings of on-chain grant commitments this node enforces, sealed.
    id: 'consent-openings-001',
    sql: `
      CREATE TABLE consent_openings (
        grant_id TEXT PRIMARY KEY,
        -- The patient's pseudonymous ledger address: public on chain with the grant already.
        patient TEXT NOT NULL,
        sealed TEXT NOT NULL,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX consent_openings_patient ON consent_openings (patient);
    `,
  },
];

/**
 * Seals an opening at rest, bound to its grant id (the associated data), so a sealed opening moved to
 * another grant's row fails to open. The node implements it with its vault key.
 */
export interface OpeningSealer {
  seal(grantId: Hex, plaintext: Uint8Array): Promise<string>;
  open(grantId: Hex, sealed: string): Promise<Uint8Array>;
}

/** What the sealer needs of the vault's envelope encryption (VaultCrypto has it). */
interface EnvelopeCipher {
  encrypt(
    ref: { resourceType: string; id: string; versionId: string; patientId: string },
    plaintext: Uint8Array,
  ): Promise<{ format: 1; keyVersion: number; nonce: Uint8Array; ciphertext: Uint8Array }>;
  decrypt(
    ref: { resourceType: string; id: string; versionId: string; patientId: string },
    sealed: { format: 1; keyVersion: number; nonce: Uint8Array; ciphertext: Uint8Array },
  ): Promise<Uint8Array>;
}

/**
 * Seals openings with the vault's node-level data key (AES-256-GCM, the key wrapped by the KEK), the
 * grant id in the associated data, as the node seals its users' TOTP secrets.
 */
export function createVaultOpeningSealer(cipher: EnvelopeCipher): OpeningSealer {
  const ref = (grantId: string) => ({
    resourceType: 'ConsentOpening',
    id: grantId,
    versionId: '1',
    patientId: '',
  });
  return {
    seal: async (grantId, plaintext) => {
      const sealed = await cipher.encrypt(ref(grantId), plaintext);
      return JSON.stringify({
        k: sealed.keyVersion,
        f: sealed.format,
        n: Buffer.from(sealed.nonce).toString('base64'),
        c: Buffer.from(sealed.ciphertext).toString('base64'),
      });
    },
    open: async (grantId, text) => {
      const s = JSON.parse(text) as { k: number; f: 1; n: string; c: string };
      return cipher.decrypt(ref(grantId), {
        format: s.f,
        keyVersion: s.k,
        nonce: Buffer.from(s.n, 'base64'),
        ciphertext: Buffer.from(s.c, 'base64'),
      });
    },
  };
}

/** Openings as JSON inside the seal (bigints as decimal strings). */
export function encodeOpening(opening: ConsentOpening): Uint8Array {
  const grant = Object.fromEntries(
    Object.entries(opening.grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  );
  return new TextEncoder().encode(
    JSON.stringify({ grantId: opening.grantId, grant, signature: opening.signature }),
  );
}

export function decodeOpening(bytes: Uint8Array): ConsentOpening {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as {
    grantId: Hex;
    grant: Record<string, string>;
    signature: Hex;
  };
  const g = json.grant;
  return {
    grantId: json.grantId,
    signature: json.signature,
    grant: {
      patient: g.patient as Hex,
      grantee: g.grantee as Hex,
      categories: BigInt(g.categories ?? '0'),
      purposes: BigInt(g.purposes ?? '0'),
      salt: g.salt as Hex,
      notBefore: BigInt(g.notBefore ?? '0'),
      notAfter: BigInt(g.notAfter ?? '0'),
      nonce: BigInt(g.nonce ?? '0'),
    },
  };
}

/** The node's openings in its SQLite database, each sealed under the node's vault key. */
export class SqliteConsentOpeningStore implements ConsentOpeningStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly sealer: OpeningSealer,
    private readonly now: () => number = Date.now,
  ) {}

  async save(opening: ConsentOpening): Promise<void> {
    const grantId = opening.grantId.toLowerCase() as Hex;
    const sealed = await this.sealer.seal(grantId, encodeOpening(opening));
    this.db
      .prepare(
        'INSERT OR IGNORE INTO consent_openings (grant_id, patient, sealed, received_at) VALUES (?, ?, ?, ?)',
      )
      .run(grantId, opening.grant.patient.toLowerCase(), sealed, this.now());
  }

  async load(grantId: Hex): Promise<ConsentOpening | undefined> {
    const id = grantId.toLowerCase() as Hex;
    const row = this.db.prepare('SELECT sealed FROM consent_openings WHERE grant_id = ?').get(id) as
      | { sealed: string }
      | undefined;
    return row === undefined ? undefined : decodeOpening(await this.sealer.open(id, row.sealed));
  }

  async grantIdsOf(patient: Address): Promise<Hex[]> {
    const rows = this.db
      .prepare('SELECT grant_id FROM consent_openings WHERE patient = ? ORDER BY received_at, grant_id')
      .all(patient.toLowerCase()) as { grant_id: Hex }[];
    return rows.map((row) => row.grant_id);
  }
}
