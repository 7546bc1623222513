/**
 * A canonical JSON serialisation (object keys sorted by UTF-16 code units, no whitespace), so a hash
 * of a resource does not depend on key order. FHIR JSON has no NaN or Infinity, and its decimals are
 * kept as JavaScript serialises them, which is stable for values that round-trip (RFC 8785 §3.2.2.3
 * uses the same number serialisation).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Loops and string appends rather than entries/filter/sort/map/join: this runs on every stored
  // version and every AuditEvent (issue 16), and the output must stay byte for byte what it was.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      // A hole in a sparse array serialised as nothing (Array.prototype.join of a skipped map slot).
      if (item === undefined && !(i in value)) continue;
      out += canonicalJson(item ?? null);
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  // The default sort orders strings by UTF-16 code units, as the comparator `a < b` did.
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = object[key];
    if (item === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}
