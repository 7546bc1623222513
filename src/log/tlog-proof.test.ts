import { describe, expect, test } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { formatCheckpoint } from './checkpoint.js';
import { createInclusionProof, createMemoryHashReader, rootAt } from './create-proof.js';
import { hashLeaf } from './merkle-hash.js';
import { createSignerKey, parseSignerKey, signNote, verifierOf } from './signed-note.js';
import { formatTlogProof, parseTlogProof, type TlogProof, verifyTlogProof } from './tlog-proof.js';

const ORIGIN = 'careledger.example/node-a';
const log = parseSignerKey(createSignerKey(ORIGIN).signerKey);
const w = ['w1', 'w2', 'w3'].map((n) =>
  parseSignerKey(createSignerKey(`witness.example/${n}`, { type: 'cosignature/v1' }).signerKey),
);
const [w1, w2, w3] = w as [(typeof w)[0], (typeof w)[0], (typeof w)[0]];
const entries = Array.from({ length: 13 }, (_, i) => new TextEncoder().encode(`audit-event-${i}`));
const reader = createMemoryHashReader(entries.map(hashLeaf));
const body = formatCheckpoint({ origin: ORIGIN, size: 13, rootHash: rootAt(reader, 13) });
const NOW = 1_750_000_000;

function proofFor(index: number, signers = [log, w1, w2]): TlogProof {
  return {
    extra: entries[index],
    index,
    proof: createInclusionProof(reader, index, 13),
    checkpoint: signNote(body, signers, { timestamp: NOW }),
  };
}

const policy = {
  logVerifier: verifierOf(log),
  witnessVerifiers: [verifierOf(w1), verifierOf(w2), verifierOf(w3)],
  witnessThreshold: 2,
};

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CareLedgerError)
      return `${e.code}:${String(e.details.step)}:${String(e.details.reason)}`;
    throw e;
  }
  return 'ok';
}

describe('tlog-proof', () => {
  test('formats in the c2sp.org/tlog-proof@v1 layout and parses back', () => {
    const p = proofFor(5);
    const text = formatTlogProof(p);
    const lines = text.split('\n');
    expect(lines[0]).toBe('c2sp.org/tlog-proof@v1');
    expect(lines[1]).toBe(`extra ${Buffer.from(entries[5] as Uint8Array).toString('base64')}`);
    expect(lines[2]).toBe('index 5');
    expect(lines[3 + p.proof.length]).toBe('');
    expect(text.endsWith(p.checkpoint)).toBe(true);
    const back = parseTlogProof(text);
    expect(formatTlogProof(back)).toBe(text);
    expect(back.index).toBe(5);
  });

  test('verifies every index with 2 of 3 witnesses', () => {
    for (let i = 0; i < 13; i++) {
      const out = verifyTlogProof(formatTlogProof(proofFor(i)), policy);
      expect(out.checkpoint.size).toBe(13);
      expect(out.witnesses.map((x) => x.verifier.name)).toEqual(['witness.example/w1', 'witness.example/w2']);
      expect(out.witnesses[0]?.timestamp).toBe(NOW);
    }
  });

  test('without extra, the entry is supplied out of band', () => {
    const { extra: _extra, ...bare } = proofFor(3);
    const text = formatTlogProof(bare);
    expect(text.split('\n')[1]).toBe('index 3');
    expect(failure(() => verifyTlogProof(text, policy))).toBe(
      'ERR_LOG_PROOF_INVALID:inclusion:missing-entry',
    );
    expect(verifyTlogProof(text, { ...policy, entry: entries[3] }).index).toBe(3);
  });

  test.each([
    ['no header', (t: string) => t.replace('c2sp.org/tlog-proof@v1\n', ''), 'header'],
    ['wrong header', (t: string) => t.replace('@v1', '@v2'), 'header'],
    [
      'reordered extra and index',
      (t: string) => t.replace(/^(.*)\n(extra .*)\n(index .*)\n/, '$1\n$3\n$2\n'),
      'proof-hash',
    ],
    ['leading zero index', (t: string) => t.replace('index 5', 'index 05'), 'index'],
    ['space in index', (t: string) => t.replace('index 5', 'index  5'), 'index'],
    ['bad extra', (t: string) => t.replace('extra ', 'extra !'), 'extra'],
    ['truncated', (t: string) => t.slice(0, t.indexOf('\n\n')), 'truncated'],
    ['short hash', (t: string) => t.replace(/\nindex 5\n[^\n]*\n/, '\nindex 5\nAAAA\n'), 'proof-hash'],
    ['trailing space on hash', (t: string) => t.replace(/(\nindex 5\n[^\n]*)\n/, '$1 \n'), 'proof-hash'],
    ['checkpoint without signatures', (t: string) => t.slice(0, t.lastIndexOf('\n\n') + 1), 'checkpoint'],
  ])('rejects %s at the parse step', (_what, mangle, reason) => {
    const text = mangle(formatTlogProof(proofFor(5)));
    expect(failure(() => verifyTlogProof(text, policy))).toBe(`ERR_LOG_PROOF_INVALID:parse:${reason}`);
  });

  test('a checkpoint from another log or key fails at log-signature', () => {
    const other = parseSignerKey(createSignerKey(ORIGIN).signerKey);
    expect(failure(() => verifyTlogProof(proofFor(1, [other, w1, w2]), policy))).toBe(
      'ERR_LOG_PROOF_INVALID:log-signature:insufficient-signatures',
    );
    expect(
      failure(() => verifyTlogProof(proofFor(1), { ...policy, origin: 'careledger.example/node-b' })),
    ).toBe('ERR_LOG_PROOF_INVALID:log-signature:origin-mismatch');
  });

  test('a forged checkpoint body fails at log-signature', () => {
    const text = formatTlogProof(proofFor(1)).replace('\n13\n', '\n14\n');
    expect(failure(() => verifyTlogProof(text, policy))).toBe(
      'ERR_LOG_PROOF_INVALID:log-signature:signature-invalid',
    );
  });

  test('too few witnesses fail at cosignatures', () => {
    expect(failure(() => verifyTlogProof(proofFor(1, [log, w3]), policy))).toBe(
      'ERR_LOG_PROOF_INVALID:cosignatures:insufficient-signatures',
    );
    expect(failure(() => verifyTlogProof(proofFor(1), { ...policy, witnessThreshold: 4 }))).toBe(
      'ERR_LOG_PROOF_INVALID:cosignatures:threshold',
    );
  });

  test('a wrong entry, index or proof fails at inclusion', () => {
    const p = proofFor(4);
    expect(failure(() => verifyTlogProof(p, { ...policy, entry: entries[5] }))).toBe(
      'ERR_LOG_PROOF_INVALID:inclusion:root-mismatch',
    );
    expect(failure(() => verifyTlogProof({ ...p, index: 13 }, policy))).toBe(
      'ERR_LOG_PROOF_INVALID:inclusion:index-out-of-range',
    );
    expect(failure(() => verifyTlogProof({ ...p, proof: p.proof.slice(1) }, policy))).toBe(
      'ERR_LOG_PROOF_INVALID:inclusion:proof-length',
    );
  });
});
