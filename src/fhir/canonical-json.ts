/**
 * A canonical JSON serialisation (object keys sorted by UTF-16 code units, no whitespace), so a hash
 * of a resource does not depend on key order. FHIR JSON has no NaN or Infinity, and its decimals are
 * kept as JavaScript serialises them, which is stable for values that round-trip (RFC 8785 §3.2.2.3
 * uses the same number serialisation).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
