import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { SearchIndexEntry } from '../fhir/search/index.js';
import { auditIndexKeyBytes, auditIndexKeys } from './audit-index-rows.js';

const hex = (value: string) => createHash('sha256').update(value).digest('hex');

describe('auditIndexKeyBytes', () => {
  test('is Buffer.concat(auditIndexKeys(index)): first occurrences, in order, over generated rows', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const odd = [
      '',
      'zz',
      'AB'.repeat(32),
      `${hex('x').slice(0, 20)}`,
      `${hex('y').slice(0, 31)}g${hex('y')}`,
    ];
    for (let run = 0; run < 2000; run++) {
      const index: SearchIndexEntry[] = [];
      const n = Math.floor(next() * 14);
      for (let i = 0; i < n; i++) {
        const pick = next();
        const hash =
          pick < 0.05
            ? (odd[Math.floor(next() * odd.length)] as string)
            : pick < 0.15
              ? hex(String(Math.floor(next() * 4))).toUpperCase()
              : hex(String(Math.floor(next() * 6)));
        index.push({ param: 'agent', kind: 'reference', hash });
      }
      expect(auditIndexKeyBytes(index).equals(Buffer.concat(auditIndexKeys(index)))).toBe(true);
    }
  });

  test('two hashes sharing their first 16 bytes are one key', () => {
    const a = hex('a');
    const twin = `${a.slice(0, 32)}${hex('b').slice(32)}`;
    const rows: SearchIndexEntry[] = [
      { param: 'agent', kind: 'reference', hash: a },
      { param: 'entity', kind: 'reference', hash: twin },
    ];
    expect(auditIndexKeyBytes(rows).toString('hex')).toBe(a.slice(0, 32));
  });
});
