import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { reasonOf } from '../../test/support/reason-of.js';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';

// The example body from c2sp.org/tlog-checkpoint.
const EXAMPLE = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

describe('checkpoint', () => {
  test('parses the spec example and formats it back', () => {
    const c = parseCheckpoint(EXAMPLE);
    expect(c.origin).toBe('example.com/behind-the-sofa');
    expect(c.size).toBe(20852163);
    expect(c.rootHash).toHaveLength(32);
    expect(formatCheckpoint(c)).toBe(EXAMPLE);
  });

  test('round-trips random checkpoints with extension lines', () => {
    const line = fc
      .string({ minLength: 1, maxLength: 20 })
      .filter((s) => [...s].every((c) => (c.codePointAt(0) ?? 0) >= 0x20));
    fc.assert(
      fc.property(
        line,
        fc.maxSafeNat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, rootHash, extensions) => {
          const text = formatCheckpoint({ origin, size, rootHash, extensions });
          const back = parseCheckpoint(text);
          expect(back.origin).toBe(origin);
          expect(back.size).toBe(size);
          expect(Buffer.from(back.rootHash)).toEqual(Buffer.from(rootHash));
          expect(back.extensions ?? []).toEqual(extensions);
        },
      ),
    );
  });

  test.each([
    ['missing final newline', EXAMPLE.slice(0, -1), 'not-newline-terminated'],
    ['truncated', 'example.com/behind-the-sofa\n20852163\n', 'truncated'],
    ['empty origin', `\n${EXAMPLE.split('\n').slice(1).join('\n')}`, 'origin'],
    ['leading zero', EXAMPLE.replace('20852163', '020852163'), 'size'],
    ['plus sign', EXAMPLE.replace('20852163', '+20852163'), 'size'],
    ['space after size', EXAMPLE.replace('20852163', '20852163 '), 'size'],
    ['size beyond 2^53', EXAMPLE.replace('20852163', '9007199254740993'), 'size'],
    [
      'reordered lines',
      'example.com/behind-the-sofa\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n20852163\n',
      'size',
    ],
    ['short root', EXAMPLE.replace('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'AAAA'), 'root-hash'],
    ['unpadded root', EXAMPLE.replace('q2I=', 'q2I'), 'root-hash'],
    ['non-canonical root', EXAMPLE.replace('q2I=', 'q2J='), 'root-hash'],
    ['empty extension line', `${EXAMPLE}\n`, 'extension'],
    ['carriage return', EXAMPLE.replace('\n', '\r\n'), 'origin'],
  ])('rejects %s', (_what, text, reason) => {
    expect(reasonOf(() => parseCheckpoint(text))).toBe(`ERR_LOG_CHECKPOINT_INVALID:${reason}`);
  });

  test('size 0 is written as "0"', () => {
    const text = formatCheckpoint({ origin: 'o', size: 0, rootHash: new Uint8Array(32) });
    expect(text.split('\n')[1]).toBe('0');
    expect(parseCheckpoint(text).size).toBe(0);
    expect(reasonOf(() => formatCheckpoint({ origin: 'a\nb', size: 0, rootHash: new Uint8Array(32) }))).toBe(
      'ERR_LOG_CHECKPOINT_INVALID:origin',
    );
  });
});
