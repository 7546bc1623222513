/**
 * R4 §3.1.1.1.5 (escaping): in a search value `\,` `\|` `\$` and `\\` are literal characters.
 * Splits on the unescaped separator and keeps every other escape for the next stage to split on.
 */
export function splitEscaped(input: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const char = input[i] as string;
    if (char === '\\' && i + 1 < input.length) {
      const next = input[i + 1] as string;
      current += next === separator ? next : `${char}${next}`;
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

export function unescapeSearchValue(input: string): string {
  return input.replace(/\\([\\,|$])/g, '$1');
}

/** `system|code` split on the first unescaped bar; `system` is undefined when there is none. */
export function splitToken(input: string): { system: string | undefined; code: string } {
  const parts = splitEscaped(input, '|');
  if (parts.length === 1) return { system: undefined, code: unescapeSearchValue(input) };
  return {
    system: unescapeSearchValue(parts[0] as string),
    code: unescapeSearchValue(parts.slice(1).join('|')),
  };
}

/** R4 §3.1.1.4.1 / §3.1.1.4.2 prefixes for number, date and quantity. */
export const SEARCH_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type SearchPrefix = (typeof SEARCH_PREFIXES)[number];

export function isSearchPrefix(value: string): value is SearchPrefix {
  return (SEARCH_PREFIXES as readonly string[]).includes(value);
}

/**
 * Splits `ge2020-01-01` into prefix and value. Returns undefined when the value starts with two
 * letters that are no prefix (`xx2020`): a typo must not silently become `eq`.
 */
export function splitPrefix(input: string): { prefix: SearchPrefix | undefined; value: string } | undefined {
  const head = input.slice(0, 2);
  if (!/^[a-z]{2}$/.test(head)) return { prefix: undefined, value: input };
  return isSearchPrefix(head) ? { prefix: head, value: input.slice(2) } : undefined;
}

const NUMBER = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface SearchNumber {
  readonly value: number;
  /** Half the width of the implicit range of the value's precision (R4 §3.1.1.4.1: 100 is [99.5, 100.5)). */
  readonly halfWidth: number;
  readonly system: string | undefined;
  readonly code: string | undefined;
}

/** `5.4`, `5.4|http://unitsofmeasure.org|mg` or `5.4||mg` (R4 §3.1.1.4.8); undefined if malformed. */
export function parseSearchNumber(input: string, withUnits: boolean): SearchNumber | undefined {
  const parts = splitEscaped(input, '|');
  if (parts.length !== 1 && !(withUnits && parts.length === 3)) return undefined;
  const text = parts[0] as string;
  if (!NUMBER.test(text)) return undefined;
  const [mantissa = '', exponent = '0'] = text.toLowerCase().split('e');
  const decimals = mantissa.includes('.') ? (mantissa.split('.')[1] as string).length : 0;
  const system = parts.length === 3 ? unescapeSearchValue(parts[1] as string) : '';
  const code = parts.length === 3 ? unescapeSearchValue(parts[2] as string) : '';
  return {
    value: Number(text),
    halfWidth: 0.5 * 10 ** (Number(exponent) - decimals),
    system: system === '' ? undefined : system,
    code: code === '' ? undefined : code,
  };
}
