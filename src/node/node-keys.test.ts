import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openDatabase } from '../storage/sqlite/open-database.js';
import { loadOperatorSecret, restrictFileModes } from './node-keys.js';
import { resolveVaultKeys } from './open-vault.js';

let root: string;
let umask: number;
const mode = (path: string) => statSync(path).mode & 0o777;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'careledger-modes-'));
  umask = process.umask();
});

afterEach(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

test('the node folder becomes owner-only, and the database and its WAL are created 0600', () => {
  process.umask(0o022);
  const dir = join(root, 'node');
  mkdirSync(join(dir, 'snapshots'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'keystore.json'), '{}', { mode: 0o644 });
  writeFileSync(join(dir, 'snapshots', 'state.json'), '{}', { mode: 0o644 });
  const database = join(dir, 'node.db');
  restrictFileModes(dir, database);
  const db = openDatabase(database);
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  writeFileSync(join(dir, 'journal.jsonl'), '{}\n');
  expect({
    dir: mode(dir),
    keystore: mode(join(dir, 'keystore.json')),
    snapshot: mode(join(dir, 'snapshots', 'state.json')),
    database: mode(database),
    wal: mode(`${database}-wal`),
    createdLater: mode(join(dir, 'journal.jsonl')),
  }).toEqual({
    dir: 0o700,
    keystore: 0o600,
    snapshot: 0o600,
    database: 0o600,
    wal: 0o600,
    createdLater: 0o600,
  });
  db.close();
});

test('an operator secret must come from an owner-only file outside the data folder', () => {
  const dir = join(root, 'node');
  mkdirSync(dir);
  const outside = join(root, 'passphrase');
  writeFileSync(outside, 'correct horse\n', { mode: 0o600 });
  expect(loadOperatorSecret(outside, dir, 'keystore passphrase')).toBe('correct horse');
  writeFileSync(join(dir, 'passphrase'), 'x', { mode: 0o600 });
  expect(() => loadOperatorSecret(join(dir, 'passphrase'), dir, 'keystore passphrase')).toThrow(
    'must be outside the node data folder',
  );
  expect(() => loadOperatorSecret('passphrase', dir, 'keystore passphrase')).toThrow(
    'must be an absolute path',
  );
  const shared = join(root, 'shared');
  writeFileSync(shared, 'x', { mode: 0o640 });
  expect(() => loadOperatorSecret(shared, dir, 'keystore passphrase')).toThrow('owner only');
});

test('without configuration or an operator passphrase the vault keys are in demo mode', () => {
  expect(resolveVaultKeys(undefined, {})).toEqual({ provider: 'demo' });
  expect(resolveVaultKeys(undefined, { CARELEDGER_KEYSTORE_PASSPHRASE: 'p' })).toEqual({
    provider: 'passphrase',
  });
  expect(resolveVaultKeys(undefined, { CARELEDGER_KEYSTORE_PASSPHRASE_FILE: '/etc/p' })).toEqual({
    provider: 'passphrase',
    passphraseFile: '/etc/p',
  });
});
