import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CareLedgerError } from '../errors/index.js';
import type { SqliteDatabase } from '../storage/sqlite/open-database.js';
import { createSqliteKeyStore } from '../storage/sqlite/sqlite-key-store.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import type { DataKeyStore } from '../vault/data-key-store.js';
import type { KeyProvider } from '../vault/key-provider.js';
import { createLocalKeystore, openLocalKeystore } from '../vault/local-keystore-key-provider.js';
import { Pkcs11KeyProvider } from '../vault/pkcs11-key-provider.js';
import { VaultCrypto } from '../vault/vault-crypto.js';
import type { VaultKeysConfig } from './node-config.js';
import { loadOperatorSecret } from './node-keys.js';

export interface OpenVaultOptions {
  /** node.json `vaultKeys`; see `resolveVaultKeys` for the default. */
  readonly keys?: VaultKeysConfig;
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** Where the wrapped data keys live (default: the SQLite database; PostgreSQL: open-node-storage.ts). */
  readonly dataKeys?: (provider: KeyProvider) => Promise<DataKeyStore>;
}

/**
 * Which key mode applies: the configured one; else `passphrase` when CARELEDGER_KEYSTORE_PASSPHRASE
 * (or CARELEDGER_KEYSTORE_PASSPHRASE_FILE) is set; else `demo`.
 */
export function resolveVaultKeys(keys: VaultKeysConfig | undefined, env: NodeJS.ProcessEnv): VaultKeysConfig {
  if (keys !== undefined) return keys;
  const file = env.CARELEDGER_KEYSTORE_PASSPHRASE_FILE;
  if (file !== undefined && file !== '') return { provider: 'passphrase', passphraseFile: file };
  const passphrase = env.CARELEDGER_KEYSTORE_PASSPHRASE;
  if (passphrase !== undefined && passphrase !== '') return { provider: 'passphrase' };
  return { provider: 'demo' };
}

/**
 * Opens the node's vault keys. The key-encryption key never comes from the data folder alone:
 * - `pkcs11`: an AES-256 key inside an HSM token wraps the data keys (src/vault/pkcs11-key-provider.ts);
 *   the PIN comes from an environment variable or a 0600 file outside the folder.
 * - `passphrase`: the encrypted local keystore (`keystore.json`), unlocked by a passphrase from
 *   CARELEDGER_KEYSTORE_PASSPHRASE or a 0600 file outside the folder.
 * - `demo`: a random passphrase in `keystore.passphrase` beside the keystore, so a copy of the folder
 *   decrypts everything. The node says so loudly at every start.
 */
export async function openVault(
  dir: string,
  db: SqliteDatabase,
  options: OpenVaultOptions = {},
): Promise<VaultCrypto> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const keys = resolveVaultKeys(options.keys, env);
  let provider: KeyProvider;
  if (keys.provider === 'pkcs11') {
    const pinEnv = keys.pinEnv ?? 'CARELEDGER_HSM_PIN';
    const pin = keys.pinFile !== undefined ? loadOperatorSecret(keys.pinFile, dir, 'HSM PIN') : env[pinEnv];
    if (pin === undefined || pin === '') {
      throw new CareLedgerError('ERR_CONFIG', `the HSM PIN is missing: set ${pinEnv} or vaultKeys.pinFile`, {
        details: { reason: 'hsm-pin' },
      });
    }
    provider = Pkcs11KeyProvider.open({
      module: keys.module,
      tokenLabel: keys.tokenLabel,
      pin,
      ...(keys.keyLabel === undefined ? {} : { keyLabel: keys.keyLabel }),
    });
    log(`vault: key-encryption key in the PKCS#11 token ${keys.tokenLabel}`);
  } else {
    const keystorePath = join(dir, 'keystore.json');
    let passphrase: string;
    if (keys.provider === 'passphrase') {
      const fromEnv = env.CARELEDGER_KEYSTORE_PASSPHRASE;
      if (keys.passphraseFile !== undefined) {
        passphrase = loadOperatorSecret(keys.passphraseFile, dir, 'keystore passphrase');
      } else if (fromEnv !== undefined && fromEnv !== '') {
        passphrase = fromEnv;
      } else {
        throw new CareLedgerError(
          'ERR_CONFIG',
          'the keystore passphrase is missing: set CARELEDGER_KEYSTORE_PASSPHRASE or vaultKeys.passphraseFile',
          { details: { reason: 'keystore-passphrase' } },
        );
      }
    } else {
      const passphraseFile = join(dir, 'keystore.passphrase');
      if (!existsSync(passphraseFile))
        writeFileDurably(passphraseFile, `${randomBytes(32).toString('base64url')}\n`, 0o600);
      passphrase = readFileSync(passphraseFile, 'utf8').trim();
      log(
        'vault: DEMO KEY MODE: the keystore passphrase sits beside the keystore in the data folder, so a ' +
          'copy of the folder decrypts every record. Use vaultKeys (pkcs11, or a passphrase from outside ' +
          'the folder) for real data.',
      );
    }
    provider = existsSync(keystorePath)
      ? await openLocalKeystore(keystorePath, passphrase)
      : await createLocalKeystore(keystorePath, passphrase);
  }
  const dataKeys = await (options.dataKeys ?? ((p: KeyProvider) => createSqliteKeyStore(db, p)))(provider);
  return VaultCrypto.create({ keyProvider: provider, dataKeys });
}
