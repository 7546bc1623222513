import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SUPPLY_KEY_ENV, SUPPLY_KEY_FILE } from '../supply/index.js';
import type { KeyProvider } from '../vault/key-provider.js';
import { nodePaths } from './node-config.js';
import { type HostSecret, readHostSecretFile } from './shared-secrets.js';

/** The node folder's secret files every host of the member must hold alike (decision 0033). */
export function memberSecretFiles(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; path: string }[] {
  const paths = nodePaths(dir);
  const files = [
    { name: 'ledger-key', path: env.CARELEDGER_CHAIN_KEY_FILE ?? paths.ledgerKey },
    { name: 'log-signer-key', path: paths.logSignerKey },
    { name: 'token-signing-key', path: paths.tokenSigningKey },
    { name: 'admin-token', path: paths.adminToken },
    { name: 'claims-secret', path: join(dir, 'claims-secret.key') },
    { name: 'research-pseudonym-secret', path: join(dir, 'research-pseudonym.secret') },
    { name: 'keystore', path: join(dir, 'keystore.json') },
  ];
  const fromEnv = env[SUPPLY_KEY_ENV];
  if (fromEnv === undefined || fromEnv === '')
    files.push({ name: 'supply-key', path: join(dir, SUPPLY_KEY_FILE) });
  return files;
}

/**
 * Which of the member's secret files exist, taken before the node creates any: what is missing then
 * and present later was created by this start, i.e. this host never had the member's copy.
 */
export function snapshotMemberSecretFiles(dir: string, env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set(
    memberSecretFiles(dir, env)
      .map((f) => f.path)
      .filter((path) => existsSync(path)),
  );
}

/**
 * This host's copies of the member's secrets. The keystore file is not compared as bytes (it is
 * re-encrypted when its passphrase changes): the vault's root secret stands for it, through a derived
 * value, which also covers an HSM (every host's token must hold the same key). The supply key given
 * in the environment is compared under the variable's name.
 */
export async function readMemberSecrets(options: {
  readonly dir: string;
  readonly existedAtStart: ReadonlySet<string>;
  readonly vault: Pick<KeyProvider, 'deriveSecret'>;
  readonly vaultSource: string;
  readonly env?: NodeJS.ProcessEnv;
}): Promise<HostSecret[]> {
  const env = options.env ?? process.env;
  const secrets: HostSecret[] = [];
  let keystore: HostSecret | undefined;
  for (const file of memberSecretFiles(options.dir, env)) {
    const secret = readHostSecretFile(file.name, file.path, options.existedAtStart.has(file.path));
    if (file.name === 'keystore') keystore = secret;
    else secrets.push(secret);
  }
  const supplyFromEnv = env[SUPPLY_KEY_ENV];
  if (supplyFromEnv !== undefined && supplyFromEnv !== '') {
    const hex = supplyFromEnv.trim().replace(/^0x/, '').toLowerCase();
    secrets.push({ name: 'supply-key', source: SUPPLY_KEY_ENV, bytes: Buffer.from(hex), createdNow: false });
  }
  secrets.push({
    name: 'vault-root-secret',
    source: options.vaultSource,
    bytes: await options.vault.deriveSecret('careledger member secret fingerprint v1'),
    createdNow: keystore?.createdNow === true,
    ...(keystore?.discard === undefined ? {} : { discard: keystore.discard }),
  });
  return secrets;
}
