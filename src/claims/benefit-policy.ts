import { createHash } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { CODE_SYSTEMS, type CodeSystemName, DIAGNOSIS_SYSTEMS, SERVICE_SYSTEMS } from './code-systems.js';
import { parseBasisPoints, parseCents } from './money.js';

export interface CoveredService {
  readonly system: CodeSystemName;
  readonly code: string;
  /** Fixed copay per line, in cents; overrides the class copay. */
  readonly copayCents?: number;
  readonly class?: string;
  /** Maximum the payer recognises per unit, in cents (a fee schedule); absent = billed amount. */
  readonly allowedCents?: number;
  /** Units covered per plan year (the policy's effective period). */
  readonly limitPerPeriod?: number;
  readonly priorAuthorization: boolean;
}

export interface BenefitPolicy {
  readonly payerId: string;
  readonly version: string;
  /** Inclusive calendar dates (YYYY-MM-DD); the period is also the plan year for the accumulators. */
  readonly effective: { readonly start: string; readonly end: string };
  readonly currency: string;
  readonly coinsuranceBasisPoints: number;
  readonly deductibleCents: number;
  readonly outOfPocketMaxCents: number;
  readonly timelyFilingDays: number;
  readonly priorAuthorizationValidDays: number;
  readonly classCopayCents: Readonly<Record<string, number>>;
  readonly services: readonly CoveredService[];
  /** Covered diagnoses; absent = any diagnosis from a known system. */
  readonly diagnoses?: readonly { readonly system: CodeSystemName; readonly code: string }[];
}

function refuse(reason: string, message: string, field?: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', `benefit policy refused: ${message}`, {
    details: field === undefined ? { reason } : { reason, field },
  });
}

function asRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    refuse('not-an-object', `${field} must be an object`, field);
  return value as Record<string, unknown>;
}

function asString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    refuse('missing-field', `${field} must be a non-empty string`, field);
  return value;
}

function asDate(value: unknown, field: string): string {
  const text = asString(value, field);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
    refuse('invalid-date', `${field} must be YYYY-MM-DD`, field);
  return text;
}

function amount(value: unknown, field: string): number {
  if (typeof value !== 'number' && typeof value !== 'string')
    refuse('invalid-amount', `${field} must be an amount`, field);
  let cents: number;
  try {
    cents = parseCents(value, field);
  } catch {
    refuse('invalid-amount', `${field} must be an amount with at most 2 decimals`, field);
  }
  if (cents < 0) refuse('negative-amount', `${field} must not be negative`, field);
  return cents;
}

function count(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    refuse('invalid-count', `${field} must be an integer >= ${min}`, field);
  return value;
}

function system(value: unknown, field: string, allowed: readonly CodeSystemName[]): CodeSystemName {
  if (typeof value !== 'string' || !(value in CODE_SYSTEMS) || !allowed.includes(value as CodeSystemName)) {
    refuse('unknown-code-system', `${field} must be one of ${allowed.join(', ')}`, field);
  }
  return value as CodeSystemName;
}

const KNOWN_KEYS = new Set([
  'payerId',
  'version',
  'effective',
  'currency',
  'coinsurance',
  'deductible',
  'outOfPocketMax',
  'timelyFilingDays',
  'priorAuthorizationValidDays',
  'classCopay',
  'services',
  'diagnoses',
]);

/**
 * Parses a payer's published benefit policy (JSON text or an already-parsed value). Amounts are
 * decimals in the policy's currency (at most 2 decimals); coinsurance is the patient's share in
 * [0,1]. Anything ambiguous is refused with `details.reason`, before the policy can be anchored.
 */
export function parseBenefitPolicy(json: string | unknown): BenefitPolicy {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      refuse('not-json', 'not valid JSON');
    }
  }
  const raw = asRecord(value, 'policy');
  for (const key of Object.keys(raw))
    if (!KNOWN_KEYS.has(key)) refuse('unknown-field', `unknown field ${key}`, key);
  const effectiveRaw = asRecord(raw.effective, 'effective');
  const effective = {
    start: asDate(effectiveRaw.start, 'effective.start'),
    end: asDate(effectiveRaw.end, 'effective.end'),
  };
  if (effective.end < effective.start)
    refuse('invalid-period', 'effective.end is before effective.start', 'effective');
  const currency = asString(raw.currency, 'currency');
  if (!/^[A-Z]{3}$/.test(currency))
    refuse('invalid-currency', 'currency must be an ISO 4217 code', 'currency');
  const coinsurance = raw.coinsurance;
  if (typeof coinsurance !== 'number' && typeof coinsurance !== 'string')
    refuse('invalid-rate', 'coinsurance must be a rate in [0,1]', 'coinsurance');
  let coinsuranceBasisPoints: number;
  try {
    coinsuranceBasisPoints = parseBasisPoints(coinsurance, 'coinsurance');
  } catch {
    refuse('invalid-rate', 'coinsurance must be a rate in [0,1] with at most 4 decimals', 'coinsurance');
  }
  const deductibleCents = amount(raw.deductible, 'deductible');
  const outOfPocketMaxCents = amount(raw.outOfPocketMax, 'outOfPocketMax');
  if (outOfPocketMaxCents < deductibleCents)
    refuse('inconsistent-limits', 'outOfPocketMax is below the deductible', 'outOfPocketMax');

  const classCopayCents: Record<string, number> = {};
  for (const [name, copay] of Object.entries(asRecord(raw.classCopay ?? {}, 'classCopay'))) {
    classCopayCents[name] = amount(copay, `classCopay.${name}`);
  }
  if (!Array.isArray(raw.services) || raw.services.length === 0)
    refuse('missing-field', 'services must be a non-empty array', 'services');
  const seen = new Set<string>();
  const services = raw.services.map((entry, index): CoveredService => {
    const field = `services[${index}]`;
    const rule = asRecord(entry, field);
    const ruleSystem = system(rule.system, `${field}.system`, SERVICE_SYSTEMS);
    const code = asString(rule.code, `${field}.code`);
    const key = `${ruleSystem}|${code}`;
    if (seen.has(key)) refuse('duplicate-rule', `${field} repeats a rule for the same code`, field);
    seen.add(key);
    const ruleClass = rule.class === undefined ? undefined : asString(rule.class, `${field}.class`);
    if (ruleClass !== undefined && !(ruleClass in classCopayCents))
      refuse('unknown-class', `${field}.class names no classCopay entry`, `${field}.class`);
    if (rule.priorAuthorization !== undefined && typeof rule.priorAuthorization !== 'boolean')
      refuse('invalid-flag', `${field}.priorAuthorization must be a boolean`, field);
    return {
      system: ruleSystem,
      code,
      ...(rule.copay === undefined ? {} : { copayCents: amount(rule.copay, `${field}.copay`) }),
      ...(ruleClass === undefined ? {} : { class: ruleClass }),
      ...(rule.allowed === undefined ? {} : { allowedCents: amount(rule.allowed, `${field}.allowed`) }),
      ...(rule.limitPerPeriod === undefined
        ? {}
        : { limitPerPeriod: count(rule.limitPerPeriod, `${field}.limitPerPeriod`, 1) }),
      priorAuthorization: rule.priorAuthorization === true,
    };
  });
  let diagnoses: BenefitPolicy['diagnoses'];
  if (raw.diagnoses !== undefined) {
    if (!Array.isArray(raw.diagnoses)) refuse('not-an-array', 'diagnoses must be an array', 'diagnoses');
    const seenDx = new Set<string>();
    diagnoses = raw.diagnoses.map((entry, index) => {
      const rule = asRecord(entry, `diagnoses[${index}]`);
      const dx = {
        system: system(rule.system, `diagnoses[${index}].system`, DIAGNOSIS_SYSTEMS),
        code: asString(rule.code, `diagnoses[${index}].code`),
      };
      if (seenDx.has(`${dx.system}|${dx.code}`))
        refuse('duplicate-rule', `diagnoses[${index}] repeats a diagnosis`, `diagnoses[${index}]`);
      seenDx.add(`${dx.system}|${dx.code}`);
      return dx;
    });
  }
  return {
    payerId: asString(raw.payerId, 'payerId'),
    version: asString(raw.version, 'version'),
    effective,
    currency,
    coinsuranceBasisPoints,
    deductibleCents,
    outOfPocketMaxCents,
    timelyFilingDays: count(raw.timelyFilingDays, 'timelyFilingDays', 1),
    priorAuthorizationValidDays: count(
      raw.priorAuthorizationValidDays ?? 90,
      'priorAuthorizationValidDays',
      1,
    ),
    classCopayCents,
    services,
    ...(diagnoses === undefined ? {} : { diagnoses }),
  };
}

const policyHashes = new WeakMap<BenefitPolicy, string>();

/** SHA-256 (hex) of the parsed policy's canonical JSON: the value anchored beside payer id and version. */
export function hashBenefitPolicy(policy: BenefitPolicy): string {
  // A parsed policy is never changed (readonly throughout), so its hash is computed once per object:
  // the engine names the policy in every response.
  let hash = policyHashes.get(policy);
  if (hash === undefined) {
    hash = createHash('sha256').update(canonicalJson(policy)).digest('hex');
    policyHashes.set(policy, hash);
  }
  return hash;
}
