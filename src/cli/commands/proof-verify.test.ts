import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { addNoteSignatures, createSignerKey, parseSignerKey } from '../../log/index.js';
import { MemoryLogStorage } from '../../log/memory-log-storage.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { exitCodeFor } from '../exit-codes.js';
import { registerLogCommands } from './log-commands.js';
import {
  evaluateTlogProof,
  formatProofVerifyReport,
  parseProofPolicy,
  runProofVerify,
} from './proof-verify.js';

const ORIGIN = 'hospital.example/log';
const logKey = createSignerKey(ORIGIN);
const otherLogKey = createSignerKey(ORIGIN);
const witnessKeys = ['w1', 'w2', 'w3'].map((n) =>
  createSignerKey(`witness.example/${n}`, { type: 'cosignature/v1' }),
);
const [w1, w2, w3] = witnessKeys as [
  (typeof witnessKeys)[0],
  (typeof witnessKeys)[0],
  (typeof witnessKeys)[0],
];
const entry = (i: number): Uint8Array => new TextEncoder().encode(`audit-event-${i}`);

const dir = mkdtempSync(join(tmpdir(), 'careledger-proof-verify-'));
let proofText: string;
let proofFile: string;

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function policy(lines: string[]): string {
  return file(`policy-${Math.random().toString(36).slice(2)}.txt`, `${lines.join('\n')}\n`);
}

const fullPolicy = [
  '# the hospital log and its witnesses',
  `log ${logKey.verifierKey}`,
  `witness ${w1.verifierKey}`,
  `witness ${w2.verifierKey}   # second witness`,
  `witness ${w3.verifierKey}`,
  'quorum 2',
];

beforeAll(async () => {
  const log = await TransparencyLog.open({ storage: new MemoryLogStorage(), signerKey: logKey.signerKey });
  await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(entry(i))));
  const record = await log.checkpoint();
  // Two of the three witnesses cosign (c2sp.org/tlog-cosignature).
  const cosigned = addNoteSignatures(
    record.note,
    [parseSignerKey(w1.signerKey), parseSignerKey(w2.signerKey)],
    {
      timestamp: 1_750_000_000,
    },
  );
  await log.attachCosignatures(cosigned);
  proofText = await log.createTlogProof(42);
  proofFile = file('entry-42.tlog-proof', proofText);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function captured(): { write(text: string): void; text: () => string } {
  let out = '';
  return {
    write: (text: string) => {
      out += text;
    },
    text: () => out,
  };
}

function failure(fn: () => unknown): CareLedgerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CareLedgerError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('parseProofPolicy', () => {
  test('reads log, witness and quorum directives, comments and blank lines', () => {
    const p = parseProofPolicy(`${fullPolicy.join('\n')}\n\n`);
    expect(p.logVerifiers.map((v) => v.name)).toEqual([ORIGIN]);
    expect(p.witnessVerifiers.map((v) => v.name)).toEqual([
      'witness.example/w1',
      'witness.example/w2',
      'witness.example/w3',
    ]);
    expect(p.quorum).toBe(2);
  });

  test('quorum defaults to 0 without witnesses, and to all of them with witnesses', () => {
    expect(parseProofPolicy(`log ${logKey.verifierKey}\n`).quorum).toBe(0);
    expect(
      parseProofPolicy(`log ${logKey.verifierKey}\nwitness ${w1.verifierKey}\nwitness ${w2.verifierKey}\n`)
        .quorum,
    ).toBe(2);
  });

  test.each([
    ['no log key', `witness ${w1.verifierKey}\n`, 'policy: names no log key'],
    [
      'unknown directive',
      `log ${logKey.verifierKey}\ntrust everything\n`,
      'policy line 2: unknown directive',
    ],
    [
      'a cosigner key as the log key',
      `log ${w1.verifierKey}\n`,
      'policy line 1: expected a key of type ed25519',
    ],
    [
      'a log key as a witness',
      `log ${logKey.verifierKey}\nwitness ${otherLogKey.verifierKey}\n`,
      'policy line 2: expected a key of type cosignature/v1',
    ],
    [
      'quorum above the witnesses',
      `log ${logKey.verifierKey}\nwitness ${w1.verifierKey}\nquorum 2\n`,
      'policy: quorum 2 is more than the 1 witnesses',
    ],
    ['a bad quorum', `log ${logKey.verifierKey}\nquorum -1\n`, 'policy line 2: quorum must be'],
    ['a duplicate key', `log ${logKey.verifierKey}\nlog ${logKey.verifierKey}\n`, 'policy line 2: key'],
    ['a malformed key', 'log not-a-key\n', 'policy line 1: not a verifier key'],
    [
      'a file that is not a policy',
      'vm.runInThisContext(code, { filename })\n',
      'policy line 1: unknown directive "vm.runInThisContext(code" (expected log, witness or quorum; `careledger proof policy <node-url>` writes a policy file)',
    ],
  ])('rejects %s', (_, text, message) => {
    const error = failure(() => parseProofPolicy(text));
    expect(error.code).toBe('ERR_CONFIG');
    expect(error.message).toContain(message);
  });
});

describe('proof verify', () => {
  test('OK: prints the entry, origin, size, signer and k of n cosigners', () => {
    const out = captured();
    const report = runProofVerify({ proofFile, policyFile: policy(fullPolicy) }, out);
    expect(report).toMatchObject({ ok: true, origin: ORIGIN, index: 42, size: 300 });
    expect(out.text()).toBe(
      `OK: entry 42 is in ${ORIGIN} at size 300 (signed by ${report.signedBy}, cosigned by 2 of 3: witness.example/w1, witness.example/w2)\n`,
    );
    expect(report.signedBy).toMatch(/^hospital\.example\/log\+[0-9a-f]{8}$/);
  });

  test('--json prints the report', () => {
    const out = captured();
    runProofVerify({ proofFile, policyFile: policy(fullPolicy), json: true }, out);
    expect(JSON.parse(out.text())).toMatchObject({
      ok: true,
      origin: ORIGIN,
      index: 42,
      size: 300,
      witnesses: { quorum: 2, total: 3, cosigned: ['witness.example/w1', 'witness.example/w2'] },
    });
  });

  test('a key rotation: the second log key of the same name verifies', () => {
    const report = evaluateTlogProof(
      proofText,
      parseProofPolicy(`log ${otherLogKey.verifierKey}\nlog ${logKey.verifierKey}\n`),
    );
    expect(report).toMatchObject({ ok: true, witnesses: { quorum: 0, total: 0 } });
    expect(formatProofVerifyReport(report)).toContain('cosigned by 0 of 0)');
  });

  test('--entry checks the given bytes instead of extra', () => {
    const good = file('entry-42.bin', entry(42));
    const bad = file('entry-43.bin', entry(43));
    const policyFile = policy(fullPolicy);
    expect(runProofVerify({ proofFile, policyFile, entryFile: good }, captured()).ok).toBe(true);
    const error = failure(() => runProofVerify({ proofFile, policyFile, entryFile: bad }, captured()));
    expect(error.details.step).toBe('inclusion');
  });

  const failures: [string, () => { proof: string; policy: string[] }, string, string][] = [
    [
      'a tampered entry',
      () => ({
        proof: proofText.replace(
          /^extra .*$/m,
          `extra ${Buffer.from(new TextEncoder().encode('audit-event-4X')).toString('base64')}`,
        ),
        policy: fullPolicy,
      }),
      'inclusion',
      'the entry is not included in the checkpoint',
    ],
    [
      'the wrong log key',
      () => ({ proof: proofText, policy: [`log ${otherLogKey.verifierKey}`] }),
      'log-signature',
      'the checkpoint is not signed by a log key of the policy',
    ],
    [
      'a log key for another origin',
      () => ({ proof: proofText, policy: [`log ${createSignerKey('lab.example/log').verifierKey}`] }),
      'log-signature',
      `the policy has no log key for origin ${ORIGIN}`,
    ],
    [
      'a quorum not met',
      () => ({ proof: proofText, policy: [...fullPolicy.slice(0, -1), 'quorum 3'] }),
      'cosignatures',
      '2 of 3 witnesses cosigned, the policy needs 3',
    ],
    [
      'a file truncated inside the proof hashes',
      () => ({ proof: proofText.slice(0, proofText.indexOf('\n\n') - 10), policy: fullPolicy }),
      'parse',
      'proof line is not base64 of 32 bytes',
    ],
    [
      'a file truncated before the signatures',
      () => ({ proof: proofText.slice(0, proofText.lastIndexOf('\n\n') + 1), policy: fullPolicy }),
      'parse',
      'embedded checkpoint is malformed',
    ],
    [
      'another file format',
      () => ({ proof: 'hello\n', policy: fullPolicy }),
      'parse',
      'first line must be c2sp.org/tlog-proof@v1',
    ],
  ];

  test.each(failures)('%s fails at the right step with exit code 65', (_, make, step, reason) => {
    const { proof, policy: lines } = make();
    const out = captured();
    const error = failure(() =>
      runProofVerify({ proofFile: file('bad.tlog-proof', proof), policyFile: policy(lines) }, out),
    );
    expect(error.code).toBe('ERR_LOG_PROOF_INVALID');
    expect(error.details.step).toBe(step);
    expect(error.message).toMatch(new RegExp(`^FAILED at step ${step}: `));
    expect(error.message).toContain(reason);
    expect(exitCodeFor(error)).toBe(65);
    expect(out.text()).toBe('');
  });

  test('--json on failure prints step and reason, then fails', () => {
    const out = captured();
    const error = failure(() =>
      runProofVerify(
        { proofFile, policyFile: policy([...fullPolicy.slice(0, -1), 'quorum 3']), json: true },
        out,
      ),
    );
    expect(error.details.step).toBe('cosignatures');
    expect(JSON.parse(out.text())).toMatchObject({
      ok: false,
      step: 'cosignatures',
      reason: '2 of 3 witnesses cosigned, the policy needs 3',
      origin: ORIGIN,
      index: 42,
      size: 300,
      witnesses: { quorum: 3, total: 3, cosigned: ['witness.example/w1', 'witness.example/w2'] },
    });
  });

  test('a missing file is ERR_NOT_FOUND (exit 66)', () => {
    const error = failure(() =>
      runProofVerify({ proofFile: join(dir, 'nope'), policyFile: policy(fullPolicy) }),
    );
    expect(error.code).toBe('ERR_NOT_FOUND');
    expect(exitCodeFor(error)).toBe(66);
  });
});

describe('registerLogCommands', () => {
  function program(out: { write(text: string): void }): Command {
    const p = new Command().option('--data-dir <dir>').exitOverride();
    p.configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => out.write(s) });
    registerLogCommands(p, { stdout: out });
    return p;
  }

  test('proof verify runs through commander', async () => {
    const out = captured();
    await program(out).parseAsync(['proof', 'verify', proofFile, '--policy', policy(fullPolicy)], {
      from: 'user',
    });
    expect(out.text()).toMatch(/^OK: entry 42 is in hospital\.example\/log at size 300/);
  });

  test('every command has help with an example', async () => {
    for (const path of [
      ['proof', 'verify'],
      ['log', 'audit'],
      ['log', 'checkpoint'],
    ]) {
      const out = captured();
      await expect(program(out).parseAsync([...path, '--help'], { from: 'user' })).rejects.toBeInstanceOf(
        CommanderError,
      );
      expect(out.text()).toContain('Example:');
      expect(out.text()).toContain(`careledger ${path.join(' ')}`);
    }
  });
});
