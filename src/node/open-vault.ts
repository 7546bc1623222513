import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqliteDatabase } from '../storage/sqlite/open-database.js';
import { createSqliteKeyStore } from '../storage/sqlite/sqlite-key-store.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { createLocalKeystore, openLocalKeystore } from '../vault/local-keystore-key-provider.js';
import { VaultCrypto } from '../vault/vault-crypto.js';

/**
 * Opens the node's vault keys: the key-encryption key in an encrypted local keystore
 * (`keystore.json`), unlocked with CARELEDGER_KEYSTORE_PASSPHRASE. Without that variable (the demo),
 * a random passphrase is generated into `keystore.passphrase` beside it, mode 0600: the records are
 * still encrypted at rest, but whoever copies the whole node folder has the key, so production
 * operators supply the passphrase from a secret store instead (docs/security-model.md).
 */
export async function openVault(dir: string, db: SqliteDatabase): Promise<VaultCrypto> {
  const keystorePath = join(dir, 'keystore.json');
  const passphraseFile = join(dir, 'keystore.passphrase');
  let passphrase = process.env.CARELEDGER_KEYSTORE_PASSPHRASE;
  if (passphrase === undefined || passphrase === '') {
    if (!existsSync(passphraseFile))
      writeFileDurably(passphraseFile, `${randomBytes(32).toString('base64url')}\n`);
    passphrase = readFileSync(passphraseFile, 'utf8').trim();
  }
  const provider = existsSync(keystorePath)
    ? await openLocalKeystore(keystorePath, passphrase)
    : await createLocalKeystore(keystorePath, passphrase);
  return VaultCrypto.create({ keyProvider: provider, dataKeys: await createSqliteKeyStore(db, provider) });
}
