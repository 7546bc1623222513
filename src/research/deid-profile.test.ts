import { describe, expect, it } from 'vitest';
import { parseDeidProfile } from './parse-deid-profile.js';
import { SAFE_HARBOR_IDENTIFIERS } from './safe-harbor-identifiers.js';
import {
  SAFE_HARBOR_PROFILE,
  SAFE_HARBOR_PROFILE_JSON,
  SAFE_HARBOR_RESTRICTED_ZIP3,
} from './safe-harbor-profile.js';

type Rule = { path: string; method: string };
const RULES = SAFE_HARBOR_PROFILE_JSON.fhirPathRules as readonly Rule[];

function withRules(rules: readonly Rule[]): unknown {
  return { ...SAFE_HARBOR_PROFILE_JSON, fhirPathRules: rules };
}

function refusal(json: unknown): Record<string, unknown> {
  try {
    parseDeidProfile(json);
  } catch (error) {
    return { code: (error as { code: string }).code, ...(error as { details: object }).details };
  }
  throw new Error('profile was accepted');
}

describe('parseDeidProfile', () => {
  it('accepts the Safe Harbor profile, which covers all 18 identifiers A-R', () => {
    expect(SAFE_HARBOR_IDENTIFIERS.map((i) => i.letter).join('')).toBe('ABCDEFGHIJKLMNOPQR');
    expect(SAFE_HARBOR_PROFILE.fhirPathRules).toHaveLength(RULES.length);
    expect(SAFE_HARBOR_RESTRICTED_ZIP3).toHaveLength(17);
  });

  it('refuses an unknown method and an unsupported selector', () => {
    expect(
      refusal(withRules([{ path: "nodesByType('HumanName')", method: 'scramble' }, ...RULES])),
    ).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      method: 'scramble',
    });
    expect(
      refusal(withRules([{ path: "Patient.name.where(use='official')", method: 'redact' }, ...RULES])),
    ).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(refusal(withRules([{ path: "nodesByType('Banana')", method: 'redact' }, ...RULES]))).toMatchObject(
      {
        type: 'Banana',
      },
    );
    expect(refusal('nope')).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });

  it('refuses a profile that leaves names in', () => {
    const rules = RULES.filter((r) => r.path !== "nodesByType('HumanName')");
    expect(refusal(withRules(rules))).toMatchObject({
      safeHarbor: 'A',
      carrier: "nodesByType('HumanName')",
      method: null,
    });
  });

  it('refuses a keep rule that shadows a type-wide redaction', () => {
    expect(refusal(withRules([{ path: 'Patient.telecom', method: 'keep' }, ...RULES]))).toMatchObject({
      safeHarbor: 'D',
      carrier: 'Patient.telecom',
      method: 'keep',
    });
  });

  it('refuses exact birth dates, full dates and hashed addresses', () => {
    expect(refusal(withRules(RULES.filter((r) => r.path !== 'Patient.birthDate')))).toMatchObject({
      safeHarbor: 'C',
      carrier: 'Patient.birthDate',
      method: 'keepYear',
    });
    const keepDates = RULES.map((r) => (r.path === "nodesByType('dateTime')" ? { ...r, method: 'keep' } : r));
    expect(refusal(withRules(keepDates))).toMatchObject({ safeHarbor: 'C', method: 'keep' });
    const hashAddress = RULES.map((r) =>
      r.path === "nodesByType('Address')" ? { ...r, method: 'cryptoHash' } : r,
    );
    expect(refusal(withRules(hashAddress))).toMatchObject({ safeHarbor: 'B' });
  });

  it('refuses to keep IP addresses, device serial numbers and identifiers', () => {
    for (const path of ['AuditEvent.agent.network', 'Device.serialNumber', "nodesByType('Identifier')"]) {
      const rules = RULES.map((r) => (r.path === path ? { ...r, method: 'keep' } : r));
      expect(refusal(withRules(rules))).toMatchObject({ code: 'ERR_INVALID_INPUT', method: 'keep' });
    }
  });
});
