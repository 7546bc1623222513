import type { BenefitPolicyStorage, StoredBenefitPolicy } from '../../claims/policy-store.js';
import type { SecretFingerprintStore } from '../../node/shared-secrets.js';
import type { Migration, SqliteDatabase } from './open-database.js';

/**
 * State of the member that used to live in node-folder files (decision 0033): the fingerprints of the
 * secrets its hosts must share, and a payer's published benefit policies.
 */
export const memberStateMigrations: Migration[] = [
  {
    id: 'secret-fingerprints-001',
    sql: `
      CREATE TABLE node_secret_fingerprints (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        recorded_at TEXT NOT NULL
      );
    `,
  },
  {
    id: 'claims-policies-001',
    sql: `
      CREATE TABLE claims_benefit_policies (
        version TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        json TEXT NOT NULL,
        published_at TEXT NOT NULL
      );
    `,
  },
];

export class SqliteSecretFingerprintStore implements SecretFingerprintStore {
  constructor(private readonly db: SqliteDatabase) {}

  async fingerprint(name: string): Promise<string | undefined> {
    const row = this.db
      .prepare('SELECT fingerprint FROM node_secret_fingerprints WHERE name = ?')
      .get(name) as { fingerprint: string } | undefined;
    return row?.fingerprint;
  }

  async recordFingerprint(name: string, fingerprint: string, recordedAt: string): Promise<string> {
    this.db
      .prepare(
        'INSERT INTO node_secret_fingerprints (name, fingerprint, recorded_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      )
      .run(name, fingerprint, recordedAt);
    return (await this.fingerprint(name)) as string;
  }
}

export class SqliteBenefitPolicyStorage implements BenefitPolicyStorage {
  constructor(private readonly db: SqliteDatabase) {}

  async listPolicies(): Promise<StoredBenefitPolicy[]> {
    return this.db
      .prepare('SELECT version, hash, json FROM claims_benefit_policies ORDER BY version')
      .all() as StoredBenefitPolicy[];
  }

  async insertPolicy(policy: StoredBenefitPolicy, publishedAt: string): Promise<boolean> {
    const done = this.db
      .prepare(
        'INSERT INTO claims_benefit_policies (version, hash, json, published_at) VALUES (?, ?, ?, ?) ON CONFLICT (version) DO NOTHING',
      )
      .run(policy.version, policy.hash, policy.json, publishedAt);
    return done.changes === 1;
  }
}
