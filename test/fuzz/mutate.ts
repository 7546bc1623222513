/**
 * Mutation fuzzing for the fuzz tests: fast-check arbitraries that take a valid seed (a FHIR resource,
 * a signed note) and break it the way a buggy client or an attacker would: fields deleted, duplicated
 * or retyped, characters flipped, text truncated.
 */
import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface JsonMutation {
  readonly kind: 'delete' | 'duplicate' | 'retype' | 'replace' | 'flip';
  readonly at: number;
  readonly value: Json;
}

const jsonMutation: fc.Arbitrary<JsonMutation> = fc.record({
  kind: fc.constantFrom('delete', 'duplicate', 'retype', 'replace', 'flip'),
  at: fc.nat(),
  value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
});

/** Every (container, key) in a JSON value, depth first, so a mutation can pick one by index. */
function slots(value: Json, out: [Json[] | { [key: string]: Json }, string | number][] = []) {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      out.push([value, index]);
      slots(item, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      out.push([value, key]);
      slots(value[key] as Json, out);
    }
  }
  return out;
}

function retype(value: Json): Json {
  if (typeof value === 'string') return Number.isNaN(Number(value)) ? [value] : Number(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 0;
  if (Array.isArray(value)) return value[0] ?? {};
  if (value === null) return '';
  return [value];
}

function flip(value: Json, at: number): Json {
  if (typeof value !== 'string' || value.length === 0) return retype(value);
  const i = at % value.length;
  return `${value.slice(0, i)}${String.fromCharCode(value.charCodeAt(i) ^ (1 << (at % 7)))}${value.slice(i + 1)}`;
}

function applyJson(root: Json, mutation: JsonMutation): Json {
  const all = slots(root);
  const slot = all[mutation.at % Math.max(1, all.length)];
  if (slot === undefined) return mutation.value;
  const [container, key] = slot;
  const current = (container as Record<string | number, Json>)[key] as Json;
  const set = (next: Json) => {
    (container as Record<string | number, Json>)[key] = next;
  };
  switch (mutation.kind) {
    case 'delete':
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
      break;
    case 'duplicate':
      if (Array.isArray(container)) container.splice(key as number, 0, structuredClone(current));
      else set([current, structuredClone(current)]);
      break;
    case 'retype':
      set(retype(current));
      break;
    case 'replace':
      set(mutation.value);
      break;
    case 'flip':
      set(flip(current, mutation.at));
      break;
  }
  return root;
}

/** A seed with 1 to `max` structural mutations applied (the seed itself is never modified). */
export function mutatedJson(seeds: readonly unknown[], max = 4): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(jsonMutation, { minLength: 1, maxLength: max }))
    .map(([seed, mutations]) =>
      mutations.reduce((value, m) => applyJson(value, m), structuredClone(seed) as Json),
    );
}

interface TextMutation {
  readonly kind: 'delete' | 'insert' | 'flip' | 'truncate' | 'duplicate-line' | 'swap-lines';
  readonly at: number;
  readonly length: number;
  readonly text: string;
}

const textMutation: fc.Arbitrary<TextMutation> = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'flip', 'truncate', 'duplicate-line', 'swap-lines'),
  at: fc.nat(),
  length: fc.nat({ max: 16 }),
  text: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'grapheme', maxLength: 4 }),
    fc.constantFrom(
      '\n',
      '\n\n',
      '— ',
      ' ',
      '+',
      '=',
      '\u0000',
      '\r\n',
      '\uFFFD',
      '-1',
      '99999999999999999999',
    ),
  ),
});

function applyText(text: string, m: TextMutation): string {
  const i = text.length === 0 ? 0 : m.at % (text.length + 1);
  switch (m.kind) {
    case 'delete':
      return text.slice(0, i) + text.slice(i + m.length);
    case 'insert':
      return text.slice(0, i) + m.text + text.slice(i);
    case 'flip':
      return i >= text.length
        ? text
        : `${text.slice(0, i)}${String.fromCharCode(text.charCodeAt(i) ^ (1 << (m.length % 8)))}${text.slice(i + 1)}`;
    case 'truncate':
      return text.slice(0, i);
    case 'duplicate-line':
    case 'swap-lines': {
      const lines = text.split('\n');
      const a = m.at % lines.length;
      const b = (m.at + m.length) % lines.length;
      if (m.kind === 'duplicate-line') lines.splice(a, 0, lines[a] as string);
      else [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      return lines.join('\n');
    }
  }
}

/** A text seed (a signed note, a share) with 1 to `max` character- or line-level mutations. */
export function mutatedText(seeds: readonly string[], max = 3): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(textMutation, { minLength: 1, maxLength: max }))
    .map(([seed, mutations]) => mutations.reduce(applyText, seed));
}
