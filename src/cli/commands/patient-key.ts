import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { CareLedgerError, isCareLedgerError } from '../../errors/index.js';
import {
  combineShares,
  createPatientKey,
  createPatientKeystore,
  formatShare,
  type GuardianShare,
  type PatientKeystore,
  parsePatientKeystore,
  parseShare,
  splitSecret,
} from '../../identity/index.js';
import { registerPatientKeyEnrolCommand } from './patient-key-enrol.js';
import type { CommandOutput } from './proof-verify.js';
import {
  PASSPHRASE_ENV,
  type PassphraseInput,
  type PassphraseSource,
  readPassphrase,
} from './read-passphrase.js';

export { PASSPHRASE_ENV, type PassphraseInput, type PassphraseSource, readPassphrase };

/**
 * `careledger patient key`: the patient's secp256k1 ledger key, which signs their consent. It is
 * made here, on the patient's side, and leaves this machine only as a passphrase-encrypted Web3
 * Secret Storage keystore (which the node stores but cannot open) and, optionally, as Shamir shares
 * for k of n guardians. The pure parts (`createPatientKeyBundle`, `recoverPatientKey`,
 * `recoverPatientKeystore`) take no TTY and write no files, so tests call them directly.
 */

const PRIVATE_KEY_SIZE = 32;
/** A share file is three short lines; refuse to slurp anything much bigger. */
const MAX_SHARE_FILE_SIZE = 64 * 1024;

export interface GuardianSplit {
  /** n: how many guardians get a share (2 to 255). */
  readonly guardians: number;
  /** k: how many of them together recover the key (2 to n). */
  readonly threshold: number;
}

export interface CreatePatientKeyBundleOptions {
  readonly guardians?: GuardianSplit;
  /** scrypt n of the keystore; default DEFAULT_PATIENT_KEYSTORE_N. Tests pass the minimum, 2^15. */
  readonly n?: number;
}

export interface PatientKeyBundle {
  readonly address: Address;
  readonly keystore: PatientKeystore;
  /** Guardian i's share text (`careledger-share-v1:…`) at index i − 1; empty without guardians. */
  readonly shares: readonly string[];
  readonly threshold?: number;
}

/** A share's text and a name for it in messages (its file name); the text itself is never quoted. */
export interface ShareSource {
  readonly name: string;
  readonly text: string;
}

export interface RecoverPatientKeystoreOptions {
  /** The patient's known ledger address: the recovered key must have it. */
  readonly address: string;
  /** The NEW passphrase for the recovered keystore. */
  readonly passphrase: string;
  /** scrypt n of the new keystore; default DEFAULT_PATIENT_KEYSTORE_N. */
  readonly n?: number;
}

/**
 * Generates a ledger key, encrypts it under `passphrase`, and with `guardians` splits the 32-byte
 * private key into n Shamir shares, any k of which recover it. The shares of one bundle carry one
 * random split id, so shares of different splits are told apart instead of combining to garbage;
 * the id is random rather than the address so a lost share file does not name the patient's
 * ledger address.
 */
export async function createPatientKeyBundle(
  passphrase: string,
  options: CreatePatientKeyBundleOptions = {},
): Promise<PatientKeyBundle> {
  const split = options.guardians;
  if (split !== undefined) verifyGuardianSplit(split);
  const { privateKey, address } = createPatientKey();
  const keystore = await createPatientKeystore(
    privateKey,
    passphrase,
    options.n === undefined ? {} : { n: options.n },
  );
  if (split === undefined) return { address, keystore, shares: [] };
  const secret = new Uint8Array(Buffer.from(privateKey.slice(2), 'hex'));
  try {
    const label = { id: randomBytes(8).toString('hex'), threshold: split.threshold };
    const shares = (await splitSecret(secret, { shares: split.guardians, threshold: split.threshold })).map(
      (share) => {
        const text = formatShare(share, label);
        share.y.fill(0);
        return text;
      },
    );
    return { address, keystore, shares, threshold: split.threshold };
  } finally {
    secret.fill(0);
  }
}

/**
 * What a guardian's file holds: `#` comment lines for the human, then the one share line. A share
 * typed back in from paper (just the line) parses too.
 */
export function formatShareFile(share: string, guardian: number, split: GuardianSplit): string {
  return [
    `# CareLedger guardian share ${guardian} of ${split.guardians}. Any ${split.threshold} of these shares together recover a patient's ledger key.`,
    '# This share alone reveals nothing about the key. Keep it private and offline; hand it back only to help the patient recover.',
    share,
    '',
  ].join('\n');
}

/** Parses a share file's text (see `formatShareFile`); errors name the file, never quote the share. */
export function parseShareFile(text: string, name: string): GuardianShare {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length !== 1) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${name}: expected one share line, found ${lines.length}`);
  }
  try {
    return parseShare(lines[0] ?? '');
  } catch (cause) {
    if (!isCareLedgerError(cause)) throw cause;
    throw new CareLedgerError(cause.code, `${name}: ${cause.message}`, { details: cause.details });
  }
}

/**
 * Combines guardians' shares and returns the private key, after checking that its address is the
 * patient's known `address`. Shamir combining cannot notice a wrong share (too few, another split's,
 * a forged one): it just yields other bytes, so the address is the check (see identity/shamir.ts).
 */
export async function recoverPatientKey(sources: readonly ShareSource[], address: string): Promise<Hex> {
  const expected = parseLedgerAddress(address);
  const shares = sources.map((source) => parseShareFile(source.text, source.name));
  const first = shares[0];
  if (first === undefined) throw new CareLedgerError('ERR_INVALID_INPUT', 'no shares given');
  const firstName = sources[0]?.name ?? '';
  const seen = new Map<number, string>();
  shares.forEach((share, i) => {
    const name = sources[i]?.name ?? '';
    if (share.id !== first.id || share.threshold !== first.threshold) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `${name} and ${firstName} come from different splits (ids ${share.id} and ${first.id})`,
        { details: { ids: [first.id, share.id] } },
      );
    }
    const twin = seen.get(share.x);
    if (twin !== undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `${twin} and ${name} are the same guardian's share`, {
        details: { x: share.x },
      });
    }
    seen.set(share.x, name);
  });
  if (shares.length < first.threshold) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `${first.threshold} guardians' shares are needed to recover the key, got ${shares.length}`,
      { details: { shares: shares.length, threshold: first.threshold } },
    );
  }
  const notTheKey = () =>
    new CareLedgerError('ERR_INVALID_INPUT', `these shares do not recover the key of ${expected}`, {
      details: { address: expected },
    });
  const secret = await combineShares(shares, { threshold: first.threshold });
  for (const share of shares) share.y.fill(0);
  try {
    if (secret.length !== PRIVATE_KEY_SIZE) throw notTheKey();
    const privateKey: Hex = `0x${Buffer.from(secret).toString('hex')}`;
    let recovered: Address;
    try {
      recovered = privateKeyToAccount(privateKey).address;
    } catch {
      // Not a valid scalar (0 or ≥ the group order): certainly not the patient's key.
      throw notTheKey();
    }
    if (recovered !== expected) throw notTheKey();
    return privateKey;
  } finally {
    secret.fill(0);
  }
}

/** `recoverPatientKey`, then a fresh keystore under the new passphrase. */
export async function recoverPatientKeystore(
  sources: readonly ShareSource[],
  options: RecoverPatientKeystoreOptions,
): Promise<{ address: Address; keystore: PatientKeystore }> {
  const privateKey = await recoverPatientKey(sources, options.address);
  const keystore = await createPatientKeystore(
    privateKey,
    options.passphrase,
    options.n === undefined ? {} : { n: options.n },
  );
  return { address: getAddress(`0x${keystore.address}`), keystore };
}

/** The ledger address a keystore names, checksummed (EIP-55); reads no passphrase, decrypts nothing. */
export function readKeystoreAddress(keystoreText: string): Address {
  // Any scrypt n: only the address is read, nothing is derived (the cost ceilings still apply).
  return getAddress(`0x${parsePatientKeystore(keystoreText, { minN: 2 }).address}`);
}

// --- Files ------------------------------------------------------------------------------------

/**
 * Writes a new file, mode 0600, and never replaces one: the file might be the only copy of a key
 * or a share. Created with O_EXCL, fsynced, then the folder fsynced so the new name is durable.
 */
function saveNewFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    throw fileError(path, cause);
  }
  try {
    // The umask may have taken bits off 0600 (never added any); make it exactly 0600.
    if (process.platform !== 'win32') fchmodSync(fd, 0o600);
    const bytes = Buffer.from(content, 'utf8');
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
  } catch (cause) {
    closeSync(fd);
    unlinkSync(path);
    throw fileError(path, cause);
  }
  closeSync(fd);
  if (process.platform !== 'win32') {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

function fileError(path: string, cause: unknown): CareLedgerError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') {
    return new CareLedgerError('ERR_PRECONDITION_FAILED', `${path} already exists; not replacing it`);
  }
  return new CareLedgerError('ERR_STORAGE', `cannot write ${path} (${code ?? 'error'})`, { cause });
}

/** Writes files in order; if one fails, removes those already written, so nothing half-made stays. */
function saveNewFiles(files: readonly { path: string; content: string }[]): void {
  for (const file of files) {
    if (existsSync(file.path)) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', `${file.path} already exists; not replacing it`);
    }
  }
  const written: string[] = [];
  try {
    for (const file of files) {
      saveNewFile(file.path, file.content);
      written.push(file.path);
    }
  } catch (error) {
    for (const path of written) unlinkSync(path);
    throw error;
  }
}

function loadTextFile(path: string, what: string): string {
  try {
    if (statSync(path).size > MAX_SHARE_FILE_SIZE) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `${path} is too large to be a ${what}`);
    }
    return readFileSync(path, 'utf8');
  } catch (cause) {
    if (isCareLedgerError(cause)) throw cause;
    throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the ${what} ${path}`, { cause });
  }
}

// --- Commands ---------------------------------------------------------------------------------

export interface PatientKeyCommandsIo extends PassphraseSource {
  readonly stdout?: CommandOutput;
  /** scrypt n for new keystores; only tests set it (the CLI writes the default). */
  readonly n?: number;
}

/** Adds `key create`, `key recover` and `key address` under the `careledger patient` group. */
export function registerPatientKeyCommands(patientCommand: Command, io: PatientKeyCommandsIo = {}): void {
  const stdout = (): CommandOutput => io.stdout ?? process.stdout;
  const scrypt = io.n === undefined ? {} : { n: io.n };
  const key = patientCommand
    .command('key')
    .description("the patient's ledger key, which signs consent: made and kept on the patient's side");

  key
    .command('create')
    .description(
      'generate a ledger key on this machine, save it as a passphrase-encrypted keystore, optionally split among guardians',
    )
    .requiredOption(
      '--out <file>',
      'the keystore to write (Web3 Secret Storage JSON, mode 0600); never replaced',
    )
    .option(
      '--guardians <n>',
      'split the key into n guardian shares, 2 to 255 (needs --threshold)',
      parseCount,
    )
    .option('--threshold <k>', 'how many guardians together recover the key, 2 to n', parseCount)
    .option('--shares-dir <dir>', "where to write guardian-<i>.share (default: the keystore's folder)")
    .option('--json', 'print { address, keystore, threshold, shares: [{ guardian, file }] } as JSON')
    .addHelpText(
      'after',
      `
The passphrase comes from $${PASSPHRASE_ENV} if set, else it is asked twice on the terminal
without echo. It is never taken from the command line (shell history, ps). The key is generated here
and leaves this machine only encrypted: give the keystore to your node (the portal, or
PUT /patient/keystore), which stores it but cannot open it.

Guardians (Shamir's secret sharing): guardian-<i>.share holds guardian i's share of the key. Any k
shares together recover the key; fewer reveal nothing about it, so each share is useless alone.
Give each file to its guardian, then delete the copies here: whoever holds k shares holds the key
without the passphrase. Note the ledger address printed: recovery checks the shares against it.

Exit status: 0 done, 64 bad usage, 65 bad passphrase or file already there, 78 no passphrase source.

Example:
  $ careledger patient key create --out ~/careledger/keystore.json --guardians 3 --threshold 2`,
    )
    .action(
      async (
        options: { out: string; guardians?: number; threshold?: number; sharesDir?: string; json?: boolean },
        command: Command,
      ) => {
        if ((options.guardians === undefined) !== (options.threshold === undefined)) {
          command.error('error: --guardians and --threshold go together');
        }
        if (options.sharesDir !== undefined && options.guardians === undefined) {
          command.error('error: --shares-dir needs --guardians and --threshold');
        }
        const split =
          options.guardians === undefined || options.threshold === undefined
            ? undefined
            : { guardians: options.guardians, threshold: options.threshold };
        if (split !== undefined) verifyGuardianSplit(split);
        const passphrase = await readPassphrase(io, {
          question: 'Passphrase for the new keystore: ',
          confirm: true,
        });
        const bundle = await createPatientKeyBundle(passphrase, {
          ...scrypt,
          ...(split === undefined ? {} : { guardians: split }),
        });
        const sharesDir = options.sharesDir ?? dirname(options.out);
        const shareFiles = bundle.shares.map((share, i) => ({
          guardian: i + 1,
          path: join(sharesDir, `guardian-${i + 1}.share`),
          content: split === undefined ? '' : formatShareFile(share, i + 1, split),
        }));
        saveNewFiles([
          ...shareFiles,
          { path: options.out, content: `${JSON.stringify(bundle.keystore, null, 2)}\n` },
        ]);
        const shares = shareFiles.map(({ guardian, path }) => ({ guardian, file: path }));
        if (options.json === true) {
          stdout().write(
            `${JSON.stringify({ address: bundle.address, keystore: options.out, threshold: bundle.threshold ?? null, shares }, null, 2)}\n`,
          );
          return;
        }
        const lines = [
          `ledger address: ${bundle.address}`,
          `keystore:       ${options.out} (encrypted under your passphrase, mode 0600)`,
        ];
        if (split !== undefined) {
          lines.push(
            `guardian shares: any ${split.threshold} of ${split.guardians} recover the key; one alone reveals nothing`,
            ...shares.map(({ guardian, file }) => `  guardian ${guardian}: ${file}`),
            `Give each guardian their own file, privately, then delete the share files here:`,
            `whoever holds ${split.threshold} of them holds your key without the passphrase.`,
          );
        }
        stdout().write(`${lines.join('\n')}\n`);
      },
    );

  key
    .command('recover')
    .description("recover the ledger key from k guardians' shares and save it under a new passphrase")
    .argument('<share-file...>', "the guardians' guardian-<i>.share files (at least k of them)")
    .requiredOption('--out <file>', 'the new keystore to write (mode 0600); never replaced')
    .requiredOption('--address <0x…>', "the patient's known ledger address; the recovered key must have it")
    .option('--json', 'print { address, keystore } as JSON')
    .addHelpText(
      'after',
      `
Combines the shares and checks that the key they give has the ledger address --address; if not,
it stops with "these shares do not recover the key of 0x…" (exit 65): a share from another split,
a damaged one (its checksum) or too few shares all end there or earlier. Only then it asks for a
NEW passphrase ($${PASSPHRASE_ENV} if set, else twice on the terminal without echo) and writes a
new keystore. Give it to your node (the portal, or PUT /patient/keystore) to replace the one whose
passphrase was lost. The guardians' shares stay valid: the key is the same.

Exit status: 0 recovered, 64 bad usage, 65 the shares do not give the key, 66 a file cannot be read,
78 no passphrase source.

Example:
  $ careledger patient key recover --out keystore.json \\
      --address 0x8ba1f109551bD432803012645Ac136ddd64DBA72 guardian-1.share guardian-3.share`,
    )
    .action(async (files: string[], options: { out: string; address: string; json?: boolean }) => {
      if (existsSync(options.out)) {
        throw new CareLedgerError(
          'ERR_PRECONDITION_FAILED',
          `${options.out} already exists; not replacing it: give another --out (e.g. --out recovered-key.json)`,
        );
      }
      const sources = files.map((file) => ({ name: file, text: loadTextFile(file, 'share file') }));
      // Check the shares before asking for a passphrase the patient would type for nothing.
      const privateKey = await recoverPatientKey(sources, options.address);
      const passphrase = await readPassphrase(io, {
        question: 'New passphrase for the recovered keystore: ',
        confirm: true,
      });
      const keystore = await createPatientKeystore(privateKey, passphrase, scrypt);
      const address = getAddress(`0x${keystore.address}`);
      saveNewFiles([{ path: options.out, content: `${JSON.stringify(keystore, null, 2)}\n` }]);
      stdout().write(
        options.json === true
          ? `${JSON.stringify({ address, keystore: options.out }, null, 2)}\n`
          : `recovered the key of ${address}\nkeystore: ${options.out} (encrypted under the new passphrase, mode 0600)\n`,
      );
    });

  key
    .command('address')
    .description('print the ledger address a keystore is for, without the passphrase')
    .argument('<keystore.json>', 'a patient keystore (Web3 Secret Storage JSON)')
    .option('--json', 'print { address } as JSON')
    .addHelpText(
      'after',
      `
Reads the keystore's address field; nothing is decrypted. That field is not covered by the
keystore's MAC: opening the keystore with the passphrase is what proves the key inside matches it.

Example:
  $ careledger patient key address ~/careledger/keystore.json`,
    )
    .action((file: string, options: { json?: boolean }) => {
      const address = readKeystoreAddress(loadTextFile(file, 'keystore'));
      stdout().write(options.json === true ? `${JSON.stringify({ address })}\n` : `${address}\n`);
    });

  registerPatientKeyEnrolCommand(key, io);
}

function parseCount(value: string): number {
  if (!/^[1-9][0-9]{0,2}$/.test(value) || Number(value) < 2 || Number(value) > 255) {
    throw new InvalidArgumentError('must be an integer from 2 to 255.');
  }
  return Number(value);
}

function verifyGuardianSplit(split: GuardianSplit): void {
  const { guardians: n, threshold: k } = split;
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 2 || k > n || n > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'need 2 ≤ threshold ≤ guardians ≤ 255', {
      details: { guardians: n, threshold: k },
    });
  }
}

function parseLedgerAddress(value: string): Address {
  // viem's isAddress checks the EIP-55 checksum of mixed-case input, so a mistyped address fails here.
  if (typeof value !== 'string' || !isAddress(value)) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'the ledger address must be 0x and 40 hex digits (with a valid EIP-55 checksum if mixed case)',
    );
  }
  return getAddress(value);
}
