import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { type BenefitPolicy, hashBenefitPolicy, parseBenefitPolicy } from './benefit-policy.js';
import { dayNumber } from './check-claim.js';

export interface PublishedPolicy {
  readonly policy: BenefitPolicy;
  readonly hash: string;
  /** The JSON as the payer published it (what a verifier parses again). */
  readonly json: unknown;
}

/** One published version as the member's database keeps it. */
export interface StoredBenefitPolicy {
  readonly version: string;
  readonly hash: string;
  /** The canonical JSON text as published. */
  readonly json: string;
}

/**
 * Where the payer's published policies live: the member's database (SQLite or PostgreSQL, decision
 * 0033), so every process and host of the member judges claims by the same versions.
 */
export interface BenefitPolicyStorage {
  listPolicies(): Promise<StoredBenefitPolicy[]>;
  /** Keeps a version unless one is kept already under that version; false when it was. */
  insertPolicy(policy: StoredBenefitPolicy, publishedAt: string): Promise<boolean>;
}

/**
 * The payer's published benefit policies (public documents: the consortium may fetch them). A version
 * is kept once and never replaced, as on the ledger. Read from the database on each use (a handful of
 * small rows), so a version published through one host is in force on every host at once. The
 * `claims/policies/*.json` files of earlier versions are moved in on first use.
 */
export class PolicyStore {
  private imported: Promise<void> | undefined;

  constructor(
    private readonly storage: BenefitPolicyStorage,
    private readonly legacyDir?: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(version: string): Promise<PublishedPolicy | undefined> {
    return (await this.list()).find((p) => p.policy.version === version);
  }

  async list(): Promise<PublishedPolicy[]> {
    await this.importLegacyFiles();
    return (await this.storage.listPolicies())
      .map((row) => {
        const json: unknown = JSON.parse(row.json);
        return { policy: parseBenefitPolicy(json), hash: row.hash, json };
      })
      .sort((a, b) =>
        a.policy.effective.start < b.policy.effective.start
          ? -1
          : a.policy.effective.start > b.policy.effective.start
            ? 1
            : 0,
      );
  }

  /**
   * Parses the payer's policy JSON (refusing what does not parse), refuses a version already kept
   * (ERR_PRECONDITION_FAILED) and keeps the JSON as published.
   */
  async save(json: unknown): Promise<PublishedPolicy> {
    await this.importLegacyFiles();
    const policy = parseBenefitPolicy(json);
    const published = { policy, hash: hashBenefitPolicy(policy), json };
    const kept = await this.storage.insertPolicy(
      { version: policy.version, hash: published.hash, json: canonicalJson(json) },
      this.now().toISOString(),
    );
    if (!kept) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this policy version is already published', {
        details: { reason: 'version-exists' },
      });
    }
    return published;
  }

  /**
   * The policy a service date is judged by: among the versions whose period contains it, the one
   * published with the latest start; if none contains it, the latest version that started before it
   * (or the earliest), so the engine answers `outside-policy-period`. Undefined when none is published.
   */
  async inForce(serviceDate: string | undefined): Promise<PublishedPolicy | undefined> {
    const all = await this.list();
    if (serviceDate === undefined) return all.at(-1);
    const day = dayNumber(serviceDate);
    const containing = all.filter(
      (p) => dayNumber(p.policy.effective.start) <= day && day <= dayNumber(p.policy.effective.end),
    );
    if (containing.length > 0) return containing.at(-1);
    return all.filter((p) => dayNumber(p.policy.effective.start) <= day).at(-1) ?? all[0];
  }

  /** Moves the files an earlier version kept in the node folder into the database (once per process). */
  private importLegacyFiles(): Promise<void> {
    this.imported ??= (async () => {
      const dir = this.legacyDir;
      if (dir === undefined || !existsSync(dir)) return;
      for (const file of readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        const json: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
        const policy = parseBenefitPolicy(json);
        await this.storage.insertPolicy(
          { version: policy.version, hash: hashBenefitPolicy(policy), json: canonicalJson(json) },
          this.now().toISOString(),
        );
      }
    })();
    return this.imported;
  }
}
