import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { type BenefitPolicy, hashBenefitPolicy, parseBenefitPolicy } from './benefit-policy.js';
import { dayNumber } from './check-claim.js';

export interface PublishedPolicy {
  readonly policy: BenefitPolicy;
  readonly hash: string;
  /** The JSON as the payer published it (what a verifier parses again). */
  readonly json: unknown;
}

/**
 * The payer's published benefit policies, one file per version under `<node>/claims/policies/`
 * (public documents: the consortium may fetch them). A version is kept once and never replaced, as on
 * the ledger.
 */
export class PolicyStore {
  private readonly policies = new Map<string, PublishedPolicy>();

  constructor(private readonly dir: string) {
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const json: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const policy = parseBenefitPolicy(json);
      this.policies.set(policy.version, { policy, hash: hashBenefitPolicy(policy), json });
    }
  }

  get(version: string): PublishedPolicy | undefined {
    return this.policies.get(version);
  }

  list(): PublishedPolicy[] {
    return [...this.policies.values()].sort((a, b) =>
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
  save(json: unknown): PublishedPolicy {
    const policy = parseBenefitPolicy(json);
    if (this.policies.has(policy.version)) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this policy version is already published', {
        details: { reason: 'version-exists' },
      });
    }
    mkdirSync(this.dir, { recursive: true });
    const published = { policy, hash: hashBenefitPolicy(policy), json };
    writeFileDurably(join(this.dir, `${published.hash}.json`), `${canonicalJson(json)}\n`);
    this.policies.set(policy.version, published);
    return published;
  }

  /**
   * The policy a service date is judged by: among the versions whose period contains it, the one
   * published with the latest start; if none contains it, the latest version that started before it
   * (or the earliest), so the engine answers `outside-policy-period`. Undefined when none is published.
   */
  inForce(serviceDate: string | undefined): PublishedPolicy | undefined {
    const all = this.list();
    if (serviceDate === undefined) return all.at(-1);
    const day = dayNumber(serviceDate);
    const containing = all.filter(
      (p) => dayNumber(p.policy.effective.start) <= day && day <= dayNumber(p.policy.effective.end),
    );
    if (containing.length > 0) return containing.at(-1);
    return all.filter((p) => dayNumber(p.policy.effective.start) <= day).at(-1) ?? all[0];
  }
}
