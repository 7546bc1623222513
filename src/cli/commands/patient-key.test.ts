import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cliNodeArgs } from '../../../test/support/cli-entry.js';
import { CareLedgerError } from '../../errors/index.js';
import { MIN_PATIENT_KEYSTORE_N, openPatientKeystore } from '../../identity/index.js';
import { exitCodeFor } from '../exit-codes.js';
import { registerPatientCommands } from './patient-erase.js';
import {
  createPatientKeyBundle,
  type PassphraseInput,
  type PatientKeyBundle,
  readKeystoreAddress,
  readPassphrase,
  recoverPatientKey,
  recoverPatientKeystore,
  registerPatientKeyCommands,
  type ShareSource,
} from './patient-key.js';

// The least scrypt n the keystore accepts (2^15): the tests check behaviour, not the KDF's cost.
const n = MIN_PATIENT_KEYSTORE_N;
const PASSPHRASE = 'correct horse battery staple';
const NEW_PASSPHRASE = 'a new passphrase after recovery';
const posix = process.platform !== 'win32';
const dir = mkdtempSync(join(tmpdir(), 'careledger-patient-key-'));
let counter = 0;
const fresh = (name: string): string => join(dir, `${++counter}-${name}`);

function captured(): { write(text: string): void; text: () => string } {
  let out = '';
  return {
    write: (text: string) => {
      out += text;
    },
    text: () => out,
  };
}

async function rejection(promise: Promise<unknown>): Promise<CareLedgerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CareLedgerError);
  return error as CareLedgerError;
}

/** A patient group with the key commands, on injected streams, as `createProgram` wires it. */
function program(io: { env?: Record<string, string>; stdin?: PassphraseInput } = {}) {
  const out = captured();
  const err = captured();
  const p = new Command().option('--data-dir <dir>').exitOverride();
  p.configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  const patient = p.command('patient');
  registerPatientKeyCommands(patient, {
    stdout: out,
    stderr: err,
    env: io.env ?? { CARELEDGER_PASSPHRASE: PASSPHRASE },
    n,
    ...(io.stdin === undefined ? {} : { stdin: io.stdin }),
  });
  const run = (...args: string[]) => p.parseAsync(['patient', 'key', ...args], { from: 'user' });
  return { run, out, err };
}

/** A stand-in for a terminal: isTTY, raw mode, and keystrokes pushed after the prompt starts. */
function fakeTty(typed: string): PassphraseInput & { rawModes: boolean[] } {
  const stream = new PassThrough();
  const rawModes: boolean[] = [];
  return Object.assign(stream, {
    isTTY: true,
    rawModes,
    setRawMode(mode: boolean) {
      rawModes.push(mode);
      // Type only once the prompt listens, like a person would.
      if (mode && typed !== '') {
        const line = typed.slice(0, typed.indexOf('\r') + 1);
        typed = typed.slice(line.length);
        setImmediate(() => stream.write(line));
      }
      return stream;
    },
  });
}

let bundle: PatientKeyBundle;
let otherBundle: PatientKeyBundle;
const sharesOf = (b: PatientKeyBundle, ...guardians: number[]): ShareSource[] =>
  guardians.map((g) => ({ name: `guardian-${g}.share`, text: b.shares[g - 1] ?? '' }));

beforeAll(async () => {
  bundle = await createPatientKeyBundle(PASSPHRASE, { n, guardians: { guardians: 3, threshold: 2 } });
  otherBundle = await createPatientKeyBundle(PASSPHRASE, { n, guardians: { guardians: 3, threshold: 2 } });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createPatientKeyBundle', () => {
  test('encrypts a fresh key under the passphrase and splits it into n shares of one split', async () => {
    const privateKey = await openPatientKeystore(bundle.keystore, PASSPHRASE);
    expect(privateKeyToAccount(privateKey).address).toBe(bundle.address);
    expect(bundle.keystore.crypto.kdfparams.n).toBe(n);
    expect(bundle.threshold).toBe(2);
    expect(bundle.shares).toHaveLength(3);
    const ids = bundle.shares.map((s) => s.split(':')[1]);
    expect(new Set(ids).size).toBe(1);
    // Distinct x from 1 to 255, chosen at random by shamir-secret-sharing (docs/decisions/0009).
    const xs = bundle.shares.map((s) => Number(s.split(':')[3]));
    expect(new Set(xs).size).toBe(3);
    for (const x of xs) expect(x >= 1 && x <= 255).toBe(true);
    // The split id is random, not the address: a lost share does not name the patient.
    expect(bundle.shares.join('\n').toLowerCase()).not.toContain(bundle.address.slice(2).toLowerCase());
    expect(bundle.shares[0]?.split(':')[1]).not.toBe(otherBundle.shares[0]?.split(':')[1]);
  });

  test('without guardians: a keystore and no shares', async () => {
    const alone = await createPatientKeyBundle(PASSPHRASE, { n });
    expect(alone.shares).toEqual([]);
    expect(alone.threshold).toBeUndefined();
  });

  test.each([
    [3, 1],
    [2, 3],
    [256, 2],
  ])('refuses %i guardians with threshold %i', async (guardians, threshold) => {
    const error = await rejection(
      createPatientKeyBundle(PASSPHRASE, { n, guardians: { guardians, threshold } }),
    );
    expect(error.code).toBe('ERR_INVALID_INPUT');
    expect(error.message).toBe('need 2 ≤ threshold ≤ guardians ≤ 255');
  });

  test('refuses a short passphrase before anything is made', async () => {
    const error = await rejection(createPatientKeyBundle('short', { n }));
    expect(error.message).toBe('passphrase must be 8 to 1024 characters long');
  });
});

describe('recoverPatientKey', () => {
  test.each([[[1, 2]], [[1, 3]], [[2, 3]], [[3, 1]], [[1, 2, 3]]])(
    'guardians %j recover the key, which opens under the new passphrase',
    async (guardians) => {
      const { address, keystore } = await recoverPatientKeystore(sharesOf(bundle, ...guardians), {
        address: bundle.address,
        passphrase: NEW_PASSPHRASE,
        n,
      });
      expect(address).toBe(bundle.address);
      const recovered = await openPatientKeystore(keystore, NEW_PASSPHRASE);
      expect(recovered).toBe(await openPatientKeystore(bundle.keystore, PASSPHRASE));
      await expect(openPatientKeystore(keystore, PASSPHRASE)).rejects.toThrow(
        'wrong passphrase or corrupted keystore',
      );
    },
  );

  test('accepts the address in lower case too', async () => {
    const key = await recoverPatientKey(sharesOf(bundle, 1, 2), bundle.address.toLowerCase());
    expect(privateKeyToAccount(key).address).toBe(bundle.address);
  });

  test('one share is not enough', async () => {
    const error = await rejection(recoverPatientKey(sharesOf(bundle, 2), bundle.address));
    expect(error.code).toBe('ERR_INVALID_INPUT');
    expect(error.message).toBe("2 guardians' shares are needed to recover the key, got 1");
    expect(exitCodeFor(error)).toBe(65);
  });

  test("another key's shares fail the address check", async () => {
    const error = await rejection(recoverPatientKey(sharesOf(otherBundle, 1, 3), bundle.address));
    expect(error.message).toBe(`these shares do not recover the key of ${bundle.address}`);
    expect(exitCodeFor(error)).toBe(65);
  });

  test('shares of two splits are not mixed', async () => {
    const mixed = [...sharesOf(bundle, 1), { name: 'stranger.share', text: otherBundle.shares[1] ?? '' }];
    const error = await rejection(recoverPatientKey(mixed, bundle.address));
    expect(error.message).toMatch(/^stranger\.share and guardian-1\.share come from different splits/);
  });

  test('a tampered share fails its checksum, naming the file and not quoting the share', async () => {
    const share = bundle.shares[1] ?? '';
    const parts = share.split(':');
    const y = parts[4] ?? '';
    parts[4] = `${y[0] === '0' ? '1' : '0'}${y.slice(1)}`;
    const error = await rejection(
      recoverPatientKey(
        [...sharesOf(bundle, 1), { name: 'guardian-2.share', text: parts.join(':') }],
        bundle.address,
      ),
    );
    expect(error.message).toBe('guardian-2.share: invalid share: checksum mismatch (mistyped or damaged)');
    expect(error.message).not.toContain(y.slice(2, 20));
  });

  test('a forged share with a recomputed checksum is caught by the address check', async () => {
    const { formatShare, parseShare } = await import('../../identity/index.js');
    const genuine = parseShare(bundle.shares[1] ?? '');
    const y = Uint8Array.from(genuine.y);
    y[0] = (y[0] ?? 0) ^ 1;
    const forged = formatShare({ x: genuine.x, y }, genuine);
    const error = await rejection(
      recoverPatientKey([...sharesOf(bundle, 1), { name: 'guardian-2.share', text: forged }], bundle.address),
    );
    expect(error.message).toBe(`these shares do not recover the key of ${bundle.address}`);
  });

  test('the same share twice is one share', async () => {
    const error = await rejection(
      recoverPatientKey(
        [...sharesOf(bundle, 1), { name: 'copy.share', text: bundle.shares[0] ?? '' }],
        bundle.address,
      ),
    );
    expect(error.message).toBe("guardian-1.share and copy.share are the same guardian's share");
  });

  test('refuses a malformed or mistyped address', async () => {
    for (const address of ['0x1234', bundle.address.replace(/[a-f]/, (c) => c.toUpperCase())]) {
      const error = await rejection(recoverPatientKey(sharesOf(bundle, 1, 2), address));
      expect(error.message).toMatch(/^the ledger address must be 0x and 40 hex digits/);
    }
  });

  test('a file with no share line, or two', async () => {
    for (const text of ['# just a comment\n', `${bundle.shares[0]}\n${bundle.shares[1]}\n`]) {
      const error = await rejection(
        recoverPatientKey([{ name: 'odd.share', text }, ...sharesOf(bundle, 2)], bundle.address),
      );
      expect(error.message).toMatch(/^odd\.share: expected one share line, found [02]$/);
    }
  });
});

describe('readPassphrase', () => {
  test('takes $CARELEDGER_PASSPHRASE', async () => {
    expect(
      await readPassphrase({ env: { CARELEDGER_PASSPHRASE: 'from env' } }, { question: '', confirm: true }),
    ).toBe('from env');
  });

  test('without the variable and without a terminal: ERR_CONFIG, exit 78', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    const error = await rejection(readPassphrase({ env: {}, stdin }, { question: '', confirm: false }));
    expect(error.code).toBe('ERR_CONFIG');
    expect(error.message).toBe(
      'no passphrase: set CARELEDGER_PASSPHRASE or run on a terminal to type it (it is never taken from the command line)',
    );
    expect(exitCodeFor(error)).toBe(78);
  });

  test('on a terminal: asks twice without echo, handles backspace and escape sequences, restores the mode', async () => {
    const stdin = fakeTty('secret pass\u007fs\u001b[Dword\rsecret password\r');
    const stderr = captured();
    const passphrase = await readPassphrase(
      { env: {}, stdin, stderr },
      { question: 'Passphrase: ', confirm: true },
    );
    expect(passphrase).toBe('secret password');
    expect(stderr.text()).toBe('Passphrase: \nRepeat the passphrase: \n');
    expect(stdin.rawModes).toEqual([true, false, true, false]);
  });

  test('on a terminal: two different entries are refused', async () => {
    const stdin = fakeTty('first passphrase\rsecond passphrase\r');
    const error = await rejection(
      readPassphrase({ env: {}, stdin, stderr: captured() }, { question: 'Passphrase: ', confirm: true }),
    );
    expect(error.message).toBe('the two passphrases differ');
  });

  test('on a terminal: Ctrl-C cancels', async () => {
    const stdin = fakeTty('abc\u0003\r');
    const error = await rejection(
      readPassphrase({ env: {}, stdin, stderr: captured() }, { question: 'Passphrase: ', confirm: false }),
    );
    expect(error.message).toBe('cancelled at the passphrase prompt');
  });
});

describe('careledger patient key (in-process)', () => {
  test('create with 3 guardians, threshold 2: keystore and share files mode 0600, address printed', async () => {
    const out = fresh('keystore.json');
    const sharesDir = fresh('shares');
    const cli = program();
    await cli.run(
      'create',
      '--out',
      out,
      '--guardians',
      '3',
      '--threshold',
      '2',
      '--shares-dir',
      sharesDir,
      '--json',
    );
    const result = JSON.parse(cli.out.text()) as {
      address: string;
      keystore: string;
      threshold: number;
      shares: { guardian: number; file: string }[];
    };
    expect(result.keystore).toBe(out);
    expect(result.threshold).toBe(2);
    expect(result.shares).toEqual(
      [1, 2, 3].map((g) => ({ guardian: g, file: join(sharesDir, `guardian-${g}.share`) })),
    );
    expect(readKeystoreAddress(readFileSync(out, 'utf8'))).toBe(result.address);
    const privateKey = await openPatientKeystore(readFileSync(out, 'utf8'), PASSPHRASE);
    expect(privateKeyToAccount(privateKey).address).toBe(result.address);
    const shareText = readFileSync(join(sharesDir, 'guardian-1.share'), 'utf8');
    expect(shareText).toMatch(/^# CareLedger guardian share 1 of 3\. Any 2 of these shares/);
    expect(shareText).toContain('This share alone reveals nothing about the key.');
    if (posix) {
      for (const file of [out, ...result.shares.map((s) => s.file)])
        expect(statSync(file).mode & 0o777).toBe(0o600);
    }
  });

  test('text output names each guardian file, next to the keystore by default', async () => {
    const out = fresh('keystore.json');
    const cli = program();
    await cli.run('create', '--out', out, '--guardians', '2', '--threshold', '2');
    const text = cli.out.text();
    expect(text).toMatch(/^ledger address: 0x[0-9a-fA-F]{40}\n/);
    expect(text).toContain(`  guardian 1: ${join(dir, 'guardian-1.share')}\n`);
    expect(text).toContain(`  guardian 2: ${join(dir, 'guardian-2.share')}\n`);
    expect(text).toContain('whoever holds 2 of them holds your key without the passphrase.');
  });

  test('never replaces a keystore or a share, and leaves nothing half-made', async () => {
    const sharesDir = fresh('shares');
    await program().run(
      'create',
      '--out',
      fresh('a.json'),
      '--guardians',
      '2',
      '--threshold',
      '2',
      '--shares-dir',
      sharesDir,
    );
    const before = readFileSync(join(sharesDir, 'guardian-1.share'), 'utf8');
    const out = fresh('b.json');
    const error = await rejection(
      program().run(
        'create',
        '--out',
        out,
        '--guardians',
        '2',
        '--threshold',
        '2',
        '--shares-dir',
        sharesDir,
      ),
    );
    expect(error.message).toBe(`${join(sharesDir, 'guardian-1.share')} already exists; not replacing it`);
    expect(readFileSync(join(sharesDir, 'guardian-1.share'), 'utf8')).toBe(before);
    expect(() => statSync(out)).toThrow();
  });

  test('recover with 2 of the 3 share files, then address', async () => {
    const out = fresh('keystore.json');
    const sharesDir = fresh('shares');
    const created = program();
    await created.run(
      'create',
      '--out',
      out,
      '--guardians',
      '3',
      '--threshold',
      '2',
      '--shares-dir',
      sharesDir,
      '--json',
    );
    const { address } = JSON.parse(created.out.text()) as { address: string };
    const recoveredFile = fresh('recovered.json');
    const recover = program({ env: { CARELEDGER_PASSPHRASE: NEW_PASSPHRASE } });
    await recover.run(
      'recover',
      '--out',
      recoveredFile,
      '--address',
      address,
      join(sharesDir, 'guardian-3.share'),
      join(sharesDir, 'guardian-1.share'),
    );
    expect(recover.out.text()).toBe(
      `recovered the key of ${address}\nkeystore: ${recoveredFile} (encrypted under the new passphrase, mode 0600)\n`,
    );
    expect(await openPatientKeystore(readFileSync(recoveredFile, 'utf8'), NEW_PASSPHRASE)).toBe(
      await openPatientKeystore(readFileSync(out, 'utf8'), PASSPHRASE),
    );
    if (posix) expect(statSync(recoveredFile).mode & 0o777).toBe(0o600);
    const shown = program();
    await shown.run('address', recoveredFile);
    expect(shown.out.text()).toBe(`${address}\n`);
  });

  test('recover with shares of another key: "these shares do not recover the key of 0x…", exit 65', async () => {
    const sharesDir = fresh('shares');
    await program().run(
      'create',
      '--out',
      fresh('k.json'),
      '--guardians',
      '2',
      '--threshold',
      '2',
      '--shares-dir',
      sharesDir,
    );
    const out = fresh('recovered.json');
    const error = await rejection(
      program().run(
        'recover',
        '--out',
        out,
        '--address',
        bundle.address,
        join(sharesDir, 'guardian-1.share'),
        join(sharesDir, 'guardian-2.share'),
      ),
    );
    expect(error.message).toBe(`these shares do not recover the key of ${bundle.address}`);
    expect(exitCodeFor(error)).toBe(65);
    expect(() => statSync(out)).toThrow();
  });

  test('recover checks the shares before asking for a passphrase', async () => {
    const file = fresh('guardian-1.share');
    writeFileSync(file, `${bundle.shares[0]}\n`);
    const error = await rejection(
      program({ env: {} }).run('recover', '--out', fresh('r.json'), '--address', bundle.address, file),
    );
    expect(error.message).toBe("2 guardians' shares are needed to recover the key, got 1");
  });

  test('without a passphrase source: exit 78 and nothing written', async () => {
    const out = fresh('keystore.json');
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    const error = await rejection(program({ env: {}, stdin }).run('create', '--out', out));
    expect(exitCodeFor(error)).toBe(78);
    expect(() => statSync(out)).toThrow();
  });

  test('a missing share file: exit 66', async () => {
    const error = await rejection(
      program().run(
        'recover',
        '--out',
        fresh('r.json'),
        '--address',
        bundle.address,
        join(dir, 'nope.share'),
      ),
    );
    expect(error.code).toBe('ERR_NOT_FOUND');
    expect(exitCodeFor(error)).toBe(66);
  });

  test.each([
    [['create', '--out', 'k.json', '--guardians', '3'], '--guardians and --threshold go together'],
    [['create', '--out', 'k.json', '--shares-dir', 'd'], '--shares-dir needs --guardians and --threshold'],
    [
      ['create', '--out', 'k.json', '--guardians', '1', '--threshold', '1'],
      'must be an integer from 2 to 255',
    ],
    [['recover', '--address', '0x00', 'a.share'], "required option '--out <file>' not specified"],
  ])('usage errors for %j', async (args, message) => {
    const cli = program();
    const error = await cli.run(...args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).exitCode).not.toBe(0);
    expect(cli.err.text()).toContain(message);
  });

  test('no passphrase option exists', async () => {
    const cli = program();
    await expect(cli.run('create', '--out', fresh('k.json'), '--passphrase', 'x')).rejects.toBeInstanceOf(
      CommanderError,
    );
    expect(cli.err.text()).toContain("unknown option '--passphrase'");
  });

  test('every command has help with an example', async () => {
    for (const command of ['create', 'recover', 'address']) {
      const cli = program();
      await expect(cli.run(command, '--help')).rejects.toBeInstanceOf(CommanderError);
      expect(cli.out.text()).toContain('Example:');
      expect(cli.out.text()).toContain(`$ careledger patient key ${command}`);
    }
  });

  test('registerPatientCommands adds the key group to `careledger patient`', () => {
    const p = new Command();
    registerPatientCommands(p);
    const patient = p.commands.find((c) => c.name() === 'patient');
    const key = patient?.commands.find((c) => c.name() === 'key');
    expect(key?.commands.map((c) => c.name())).toEqual(['create', 'recover', 'address', 'enrol']);
  });
});

/**
 * The real `careledger` entry (src/cli/main.ts, i.e. createProgram) in a child process, as
 * test/cli/cli.test.ts runs it: main.ts runs the CLI when imported, so it cannot be imported here.
 * No TTY and the default scrypt n, so this is exactly what a patient's script would see.
 */
describe('careledger patient key (child process)', () => {
  function careledger(env: Record<string, string>, ...args: string[]) {
    const { CARELEDGER_PASSPHRASE: _, ...rest } = process.env;
    const result = spawnSync(process.execPath, [...cliNodeArgs(), 'patient', 'key', ...args], {
      encoding: 'utf8',
      env: { ...rest, CARELEDGER_DATA_DIR: dir, CARELEDGER_CHAIN_RPC_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  const out = fresh('keystore.json');
  const sharesDir = fresh('shares');
  const share = (g: number) => join(sharesDir, `guardian-${g}.share`);
  let address = '';

  beforeAll(() => {
    const created = careledger(
      { CARELEDGER_PASSPHRASE: PASSPHRASE },
      'create',
      '--out',
      out,
      '--guardians',
      '3',
      '--threshold',
      '2',
      '--shares-dir',
      sharesDir,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    address = /^ledger address: (0x[0-9a-fA-F]{40})$/m.exec(created.stdout)?.[1] ?? '';
  });

  test('create wrote a default-strength keystore, mode 0600, and printed its address', async () => {
    expect(address).not.toBe('');
    const keystore = readFileSync(out, 'utf8');
    expect(JSON.parse(keystore).crypto.kdfparams.n).toBe(2 ** 17);
    expect(privateKeyToAccount(await openPatientKeystore(keystore, PASSPHRASE)).address).toBe(address);
    if (posix) expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  test('address, without a passphrase', () => {
    expect(careledger({}, 'address', out, '--json')).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ address })}\n`,
      stderr: '',
    });
  });

  test('no $CARELEDGER_PASSPHRASE and no terminal: exit 78', () => {
    const result = careledger({}, 'create', '--out', fresh('k.json'));
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/^careledger: no passphrase: set CARELEDGER_PASSPHRASE/);
  });

  test('recover against another address: exit 65', () => {
    const result = careledger(
      { CARELEDGER_PASSPHRASE: NEW_PASSPHRASE },
      'recover',
      '--out',
      fresh('r.json'),
      '--address',
      bundle.address,
      share(1),
      share(2),
    );
    expect(result.code).toBe(65);
    expect(result.stderr).toBe(`careledger: these shares do not recover the key of ${bundle.address}\n`);
  });

  test('recover with guardians 2 and 3 under a new passphrase', async () => {
    const recoveredFile = fresh('recovered.json');
    const result = careledger(
      { CARELEDGER_PASSPHRASE: NEW_PASSPHRASE },
      'recover',
      '--out',
      recoveredFile,
      '--address',
      address,
      share(2),
      share(3),
      '--json',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ address, keystore: recoveredFile });
    expect(await openPatientKeystore(readFileSync(recoveredFile, 'utf8'), NEW_PASSPHRASE)).toBe(
      await openPatientKeystore(readFileSync(out, 'utf8'), PASSPHRASE),
    );
  });

  test('help', () => {
    const { code, stdout } = careledger({}, 'create', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: careledger patient key create/);
    expect(stdout).toContain('each share is useless alone');
  });
});
