import {
  DEID_METHODS,
  type DeidMethod,
  type DeidProfile,
  type DeidRule,
  invalidProfile as invalid,
  parseDeidSelector,
} from './deid-profile.js';
import { verifySafeHarborCoverage } from './safe-harbor-identifiers.js';

/**
 * Turns untrusted JSON into a profile, refusing unknown methods and selectors, and refusing a
 * profile that would leave any HIPAA Safe Harbor identifier in (see safe-harbor-identifiers.ts).
 */
export function parseDeidProfile(json: unknown): DeidProfile {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalid('profile must be an object');
  const input = json as Record<string, unknown>;
  const name = typeof input.name === 'string' ? input.name : 'unnamed';
  if (!Array.isArray(input.fhirPathRules)) throw invalid('profile.fhirPathRules must be an array');
  const rules = input.fhirPathRules.map((raw, index): DeidRule => {
    if (typeof raw !== 'object' || raw === null) throw invalid('rule must be an object', { index });
    const { path, method } = raw as Record<string, unknown>;
    if (typeof path !== 'string') throw invalid('rule.path must be a string', { index });
    if (typeof method !== 'string' || !(DEID_METHODS as readonly string[]).includes(method)) {
      throw invalid('unknown de-identification method', { index, method: String(method).slice(0, 40) });
    }
    return { path, method: method as DeidMethod, selector: parseDeidSelector(path) };
  });
  const profile: DeidProfile = {
    name,
    fhirPathRules: rules,
    keepExtensions: parseStringList(input.keepExtensions, 'keepExtensions'),
    quasiIdentifiers: parseStringList(input.quasiIdentifiers, 'quasiIdentifiers'),
  };
  verifySafeHarborCoverage(profile);
  return profile;
}

function parseStringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalid(`profile.${field} must be an array of strings`);
  }
  return [...value];
}
