/**
 * FHIR R4 §3.1.1.4.7: string search "is case-insensitive and accent-insensitive", and servers may
 * ignore punctuation and non-significant whitespace. Both the blind index and the in-memory matcher
 * use this one function, so a stored value and a query normalize identically.
 */
export function normalizeSearchString(value: string): string {
  return value
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\p{Z}\s]+/gu, ' ')
    .trim();
}

/** The words of an already normalized string. */
export function searchWords(normalized: string): string[] {
  return normalized === '' ? [] : normalized.split(' ');
}

/** Index prefixes stop here: longer queries are narrowed by the index and decided in memory. */
export const MAX_PREFIX_LENGTH = 16;

/** By code point, so a prefix never splits a surrogate pair. */
export function prefixOf(value: string, length: number): string {
  return Array.from(value).slice(0, length).join('');
}
