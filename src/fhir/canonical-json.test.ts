import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SYNTHEA_DIR } from '../../test/support/shared-data.js';
import { canonicalJson } from './canonical-json.js';

/**
 * The first implementation, kept here as the reference: hashes and log commitments already written
 * (version hashes, AuditEvent commitments, signed documents) depend on every byte of its output.
 */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => reference(item ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
}

describe('canonicalJson', () => {
  test('sorts keys by UTF-16 code units, drops undefined members, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, B: { z: 0.1, y: -0 } })).toBe(
      '{"B":{"y":0,"z":0.1},"a":[true,null,"x"],"b":1}',
    );
    // U+E000 sorts after U+D83D (a surrogate) in UTF-16 order, before it in code-point order.
    expect(canonicalJson({ '\uE000': 1, '\u{1F600}': 2 })).toBe('{"\u{1F600}":2,"\uE000":1}');
  });

  const edgeCases: [string, unknown][] = [
    ['primitives', [0, -1.5e-7, 1e21, 'a"b\\c\n\u0001', true, false, null]],
    ['undefined and functions in arrays and objects', [undefined, () => 1, { f: () => 1, u: undefined }]],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    ['a sparse array', [1, , 3]],
    ['integer-like keys', { '10': 'a', '2': 'b', '-1': 'c', '01': 'd', a: { '1': [] } }],
    ['a Date and a typed array', { when: new Date(0), bytes: new Uint8Array([3, 1, 2]) }],
    ['empty containers', { a: {}, b: [], c: [{}], d: [[]] }],
    ['top-level undefined', undefined],
    ['keys that need escaping', { 'a"': 1, 'b\\': 2, '\u2028': 3, '\ud800': 4 }],
  ];
  test.each(edgeCases)('%s: the same text as the first implementation', (_name, value) => {
    expect(canonicalJson(value)).toBe(reference(value));
  });

  test('every resource of the Synthea bundles: the same text as the first implementation', () => {
    let resources = 0;
    for (const file of readdirSync(SYNTHEA_DIR)
      .filter((f) => f.endsWith('.json'))
      .slice(0, 5)) {
      const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as {
        entry: { resource: unknown }[];
      };
      for (const { resource } of bundle.entry) {
        expect(canonicalJson(resource)).toBe(reference(resource));
        resources++;
      }
    }
    expect(resources).toBeGreaterThan(100);
  });
});
