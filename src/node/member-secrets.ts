import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateClaimsSecret } from '../claims/commitment-key.js';
import { loadOrCreateResearchSecret } from '../research/release/study-key.js';
import { loadOrCreateSupplyKey, SUPPLY_KEY_ENV, SUPPLY_KEY_FILE } from '../supply/index.js';
import { nodePaths } from './node-config.js';
import { loadOrCreateTokenSigningKey } from './node-keys.js';
import {
  type HostSecret,
  readHostSecretFile,
  type SecretFingerprintStore,
  verifySharedSecrets,
} from './shared-secrets.js';

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
 * Creates now the secrets the node's modules would create later in this start (token signing key,
 * supply key, research pseudonym secret; the claims secret on a payer), so the check that follows
 * sees them and a first start records every fingerprint before another host could make its own.
 */
export function createMemberSecrets(dir: string, role: string | undefined): void {
  loadOrCreateTokenSigningKey(nodePaths(dir).tokenSigningKey);
  loadOrCreateSupplyKey(dir);
  loadOrCreateResearchSecret(join(dir, 'research-pseudonym.secret'));
  if (role === 'payer') loadOrCreateClaimsSecret(join(dir, 'claims-secret.key'));
}

/**
 * Checks this host's secret files against the member's database (decision 0033) and records the
 * fingerprints not yet recorded; throws ERR_CONFIG naming the files at fault. Run before anything
 * signs, sends or serves: a host with another log key must not sign one checkpoint. The supply key
 * given in the environment is compared under the variable's name. The keystore is left to
 * `verifyVaultRootSecret` (its file is re-encrypted when its passphrase changes).
 */
export async function verifyMemberSecretFiles(options: {
  readonly dir: string;
  readonly existedAtStart: ReadonlySet<string>;
  readonly store: SecretFingerprintStore;
  readonly env?: NodeJS.ProcessEnv;
}): Promise<{ recorded: string[] }> {
  const env = options.env ?? process.env;
  const secrets: HostSecret[] = memberSecretFiles(options.dir, env)
    .filter((file) => file.name !== 'keystore')
    .map((file) => readHostSecretFile(file.name, file.path, options.existedAtStart.has(file.path)));
  const supplyFromEnv = env[SUPPLY_KEY_ENV];
  if (supplyFromEnv !== undefined && supplyFromEnv !== '') {
    const hex = supplyFromEnv.trim().replace(/^0x/, '').toLowerCase();
    secrets.push({ name: 'supply-key', source: SUPPLY_KEY_ENV, bytes: Buffer.from(hex), createdNow: false });
  }
  return verifySharedSecrets(options.store, secrets);
}

/**
 * The vault's root secret, through a keyed hash derived from it (so any keystore passphrase, and an
 * HSM: every host's token must hold the same key). `keystore.json` created by this start (it was not
 * there) counts as missing, and is removed again when refused.
 */
export async function verifyVaultRootSecret(options: {
  readonly dir: string;
  readonly existedAtStart: ReadonlySet<string>;
  readonly store: SecretFingerprintStore;
  readonly vault: { keyedHash(value: string): Uint8Array };
  /** Where the operator finds the key: keystore.json, or the HSM token. */
  readonly source: string;
}): Promise<{ recorded: string[] }> {
  const keystore = readHostSecretFile(
    'keystore',
    join(options.dir, 'keystore.json'),
    options.existedAtStart.has(join(options.dir, 'keystore.json')),
  );
  return verifySharedSecrets(options.store, [
    {
      name: 'vault-root-secret',
      source: options.source,
      bytes: options.vault.keyedHash('careledger member secret fingerprint v1'),
      createdNow: keystore.createdNow,
      ...(keystore.discard === undefined ? {} : { discard: keystore.discard }),
    },
  ]);
}

/**
 * The start-up step of `startNode` for the vault (decision 0033): on a refusal, closes what the node's
 * base opened (the broadcast, the notifications connection, the databases) and throws ERR_CONFIG. A
 * member's worker on SQLite shares the folder its primary checked.
 */
export async function verifyVaultSecretAtStart(
  base: {
    readonly dir: string;
    readonly config: { readonly vaultKeys?: { readonly provider?: string; readonly tokenLabel?: string } };
    readonly secretFilesAtStart: ReadonlySet<string>;
    readonly stores: { readonly secretFingerprints: SecretFingerprintStore; close(): Promise<void> };
    readonly db: { close(): void };
    readonly sharedBroadcast?: { close(): void } | undefined;
    readonly notifications?: { close(): Promise<void> } | undefined;
    say(line: string): void;
  },
  options: { readonly worker?: unknown },
  vault: { keyedHash(value: string): Uint8Array },
): Promise<void> {
  if (options.worker !== undefined) return;
  const keys = base.config.vaultKeys;
  const source =
    keys?.provider === 'pkcs11'
      ? `the HSM token ${keys.tokenLabel ?? ''} (its key-encryption key)`.replace('  ', ' ')
      : join(base.dir, 'keystore.json');
  try {
    const { recorded } = await verifyVaultRootSecret({
      dir: base.dir,
      existedAtStart: base.secretFilesAtStart,
      store: base.stores.secretFingerprints,
      vault,
      source,
    });
    if (recorded.length > 0)
      base.say("secrets: the vault root secret's fingerprint recorded in the member's database");
  } catch (error) {
    base.sharedBroadcast?.close();
    await base.notifications?.close();
    base.db.close();
    await base.stores.close();
    throw error;
  }
}
