import type { BenefitPolicyStorage, StoredBenefitPolicy } from '../../claims/policy-store.js';
import type { SecretFingerprintStore } from '../../node/shared-secrets.js';
import type { PostgresDatabase } from './postgres-database.js';

/** Secret fingerprints on PostgreSQL (schema version 7): the first host's insert wins. */
export class PostgresSecretFingerprintStore implements SecretFingerprintStore {
  constructor(private readonly db: PostgresDatabase) {}

  async fingerprint(name: string): Promise<string | undefined> {
    const rows = await this.db.query<{ fingerprint: string }>(
      'SELECT fingerprint FROM node_secret_fingerprints WHERE name = $1',
      [name],
    );
    return rows[0]?.fingerprint;
  }

  async recordFingerprint(name: string, fingerprint: string, recordedAt: string): Promise<string> {
    await this.db.execute(
      `INSERT INTO node_secret_fingerprints (name, fingerprint, recorded_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING`,
      [name, fingerprint, recordedAt],
    );
    return (await this.fingerprint(name)) as string;
  }
}

/** A payer's published benefit policies on PostgreSQL (schema version 7), shared by its hosts. */
export class PostgresBenefitPolicyStorage implements BenefitPolicyStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async listPolicies(): Promise<StoredBenefitPolicy[]> {
    return this.db.query<StoredBenefitPolicy>(
      'SELECT version, hash, json FROM claims_benefit_policies ORDER BY version',
    );
  }

  async insertPolicy(policy: StoredBenefitPolicy, publishedAt: string): Promise<boolean> {
    const count = await this.db.execute(
      `INSERT INTO claims_benefit_policies (version, hash, json, published_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (version) DO NOTHING`,
      [policy.version, policy.hash, policy.json, publishedAt],
    );
    return count === 1;
  }
}
