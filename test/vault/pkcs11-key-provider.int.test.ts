/**
 * The vault's key-encryption key in a real PKCS#11 token (SoftHSM2, Debian's `softhsm2`, installed by
 * scripts/install-system-deps.sh), issue 14 item 11: the token is made in a temporary SOFTHSM2_CONF
 * folder with softhsm2-util, the keys by `careledger vault hsm-init`, and a vault over it writes and
 * reads records. A copy of the node's data folder alone decrypts nothing: it holds no key, and the
 * same folder over another token (an attacker's, with keys of the same labels) cannot unwrap.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerVaultCommands } from '../../src/cli/commands/vault-hsm.js';
import { isCareLedgerError } from '../../src/errors/index.js';
import type { VaultKeysConfig } from '../../src/node/node-config.js';
import { openVault } from '../../src/node/open-vault.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { keyStoreMigrations } from '../../src/storage/sqlite/sqlite-key-store.js';
import type { RecordRef, SealedRecord } from '../../src/vault/record-cipher.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '246810';
const text = (s: string) => new TextEncoder().encode(s);
const ref = (patientId: string): RecordRef => ({
  resourceType: 'Observation',
  id: `obs-${patientId}`,
  versionId: '1',
  patientId,
});

let root: string;
let pinFile: string;

function initToken(label: string): void {
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--so-pin', '13579086', '--pin', PIN],
    {
      env: { ...process.env },
      stdio: 'pipe',
    },
  );
}

function hsmInit(tokenLabel: string, dataDir: string): string {
  let out = '';
  const program = new Command().exitOverride().option('--data-dir <dir>');
  registerVaultCommands(program, { stdout: { write: (t: string) => (out += t) } });
  program.parse(
    [
      '--data-dir',
      dataDir,
      'vault',
      'hsm-init',
      '--module',
      MODULE,
      '--token-label',
      tokenLabel,
      '--pin-file',
      pinFile,
    ],
    { from: 'user' },
  );
  return out;
}

const pkcs11 = (tokenLabel: string, pin = pinFile): VaultKeysConfig => ({
  provider: 'pkcs11',
  module: MODULE,
  tokenLabel,
  pinFile: pin,
});

async function openNodeVault(dataDir: string, keys: VaultKeysConfig, log: (line: string) => void = () => {}) {
  mkdirSync(dataDir, { recursive: true });
  const db: SqliteDatabase = openDatabase(join(dataDir, 'node.db'), keyStoreMigrations);
  const vault = await openVault(dataDir, db, { keys, log, env: {} });
  return { db, vault };
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCareLedgerError(error)) throw new Error(`expected a CareLedgerError, got ${String(error)}`);
  return `${error.code}:${String(error.details.reason)}`;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'careledger-hsm-'));
  mkdirSync(join(root, 'tokens'));
  const conf = join(root, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(root, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  // Read by libsofthsm2 when it is first loaded (C_Initialize), so set before any vault opens.
  process.env.SOFTHSM2_CONF = conf;
  initToken('careledger');
  initToken('stolen');
  mkdirSync(join(root, 'secrets'), { mode: 0o700 });
  pinFile = join(root, 'secrets', 'hsm.pin');
  writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('the vault KEK in a PKCS#11 token', () => {
  test('hsm-init creates the keys once; a vault on the token writes and reads records; the data folder alone decrypts nothing', async () => {
    const dataDir = join(root, 'node');
    mkdirSync(dataDir);
    expect(hsmInit('careledger', dataDir)).toMatch(/^created key pkcs11-[0-9a-f]{16} in token careledger\n/);
    expect(hsmInit('careledger', dataDir)).toMatch(/^found key pkcs11-[0-9a-f]{16} in token careledger\n/);

    const lines: string[] = [];
    const { db, vault } = await openNodeVault(dataDir, pkcs11('careledger'), (line) => lines.push(line));
    expect(lines.join('\n')).not.toContain('DEMO KEY MODE');
    const sealed: SealedRecord[] = [];
    for (const patient of ['pat-1', 'pat-2'])
      sealed.push(await vault.encrypt(ref(patient), text(`record of ${patient}`)));
    expect(await vault.decrypt(ref('pat-2'), sealed[1] as SealedRecord)).toEqual(text('record of pat-2'));
    db.close();

    // Cold, over the same token: the records open.
    const again = await openNodeVault(dataDir, pkcs11('careledger'));
    expect(await again.vault.decrypt(ref('pat-1'), sealed[0] as SealedRecord)).toEqual(
      text('record of pat-1'),
    );
    again.db.close();

    // What a copy of the data folder holds: the database with wrapped keys, no keystore, no passphrase.
    expect(readdirSync(dataDir).filter((f) => f.startsWith('keystore'))).toEqual([]);
    const copy = join(root, 'copy');
    cpSync(dataDir, copy, { recursive: true });
    // The copy over another token, with keys of the same labels made by the same command: no unwrap.
    hsmInit('stolen', copy);
    const stolen = await openNodeVault(copy, pkcs11('stolen'));
    expect(await errorOf(stolen.vault.decrypt(ref('pat-1'), sealed[0] as SealedRecord))).toBe(
      'ERR_KEYSTORE:unknown-kek',
    );
    stolen.db.close();
    // The copy in demo key mode makes a keystore of its own, which holds nothing that unwraps.
    const demoLines: string[] = [];
    const demo = await openNodeVault(copy, { provider: 'demo' }, (line) => demoLines.push(line));
    expect(demoLines.join('\n')).toContain('DEMO KEY MODE');
    expect(await errorOf(demo.vault.decrypt(ref('pat-1'), sealed[0] as SealedRecord))).toBe(
      'ERR_KEYSTORE:unknown-kek',
    );
    demo.db.close();
  });

  test('a PIN file inside the data folder, or readable by others, is refused', async () => {
    const dataDir = join(root, 'node-pin');
    mkdirSync(dataDir);
    const inside = join(dataDir, 'hsm.pin');
    writeFileSync(inside, PIN, { mode: 0o600 });
    await expect(
      openVault(dataDir, openDatabase(join(dataDir, 'node.db'), keyStoreMigrations), {
        keys: pkcs11('careledger', inside),
        env: {},
      }),
    ).rejects.toThrow('must be outside the node data folder');
    const open = join(root, 'secrets', 'open.pin');
    writeFileSync(open, PIN);
    chmodSync(open, 0o644);
    await expect(
      openVault(dataDir, openDatabase(join(dataDir, 'node.db'), keyStoreMigrations), {
        keys: pkcs11('careledger', open),
        env: {},
      }),
    ).rejects.toThrow('must be readable by its owner only');
    expect(existsSync(join(dataDir, 'keystore.json'))).toBe(false);
    expect(readFileSync(pinFile, 'utf8').trim()).toBe(PIN);
  });
});
