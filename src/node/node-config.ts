import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { CareLedgerError } from '../errors/index.js';
import { isMemberRole, type MemberRole } from '../ledger/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';

/** A member node's settings, kept as `node.json` in the node's folder beside its keys and database. */
export interface NodeConfig {
  readonly name: string;
  /** Display name of the organization, published on the ledger. */
  readonly organization: string;
  readonly role: MemberRole;
  readonly host: string;
  readonly port: number;
  /** Public base URL of this node (what other members call). */
  readonly publicUrl: string;
  /** The log origin (C2SP tlog-checkpoint first line), unique in the consortium. */
  readonly logOrigin: string;
  readonly chain: { readonly rpcUrl: string; readonly chainId: number };
  /** Path of the deployment record (contract addresses). */
  readonly deploymentFile: string;
  /** Transparency log policy; defaults: majority of the other members as witnesses, anchor every 10 s. */
  readonly log?: { readonly witnessQuorum?: number; readonly anchorIntervalMs?: number };
  /**
   * Accept the development identity header (`X-CareLedger-Identity`) on the FHIR API. Off unless set:
   * it trusts the client's word for who it is, so it is for demos and tests only. A node with it on
   * binds to loopback only (it refuses to start otherwise) and accepts the header only from a
   * loopback peer with a loopback Host.
   */
  readonly devIdentityHeader?: boolean;
  /**
   * Issue 21: require each practitioner's licence credential to verify against the chain (admitted
   * board, not revoked or suspended) on every request; off unless `required` is true. Decision 0018.
   */
  readonly practitionerCredentials?: import('../credentials/practitioner-check.js').PractitionerCredentialsConfig;
  /**
   * Origins whose web pages may call the API (CORS). Default: the node's own origin (the portal's,
   * from `publicUrl`). Never `*`.
   */
  readonly cors?: { readonly allowedOrigins?: readonly string[] };
  /**
   * Anonymous consent relays (`POST /ledger/consent/...`) a minute, per source address and node-wide
   * (src/ledger/consent-relay-limits.ts); defaults 30 and 300 grants, 120 and 600 openings.
   */
  readonly consentRelayLimits?: import('../ledger/consent-relay-limits.js').ConsentRelayLimitsConfig;
  /**
   * Break-glass policy (src/access/break-glass.ts): the longest window (default 60 minutes), and the
   * openings one clinician may make in a rolling window (default 10 in 1440 minutes).
   */
  readonly breakGlass?: {
    readonly maxMinutes?: number;
    readonly maxOpenings?: number;
    readonly openingsWindowMinutes?: number;
  };
  /** Overload shedding: requests in flight, queued, and the longest wait in the queue (ms). */
  readonly http?: {
    readonly maxInFlight?: number;
    readonly maxQueued?: number;
    readonly maxQueueWaitMs?: number;
    /** Shed while the event loop has not come round for this long (synchronous work piling up). */
    readonly maxEventLoopStallMs?: number;
  };
  /**
   * Dynamic client registration (RFC 7591): public keys (JWK) of publishers whose signed software
   * statements register an app without the operator's approval. Without one, apps wait for approval.
   */
  readonly clientRegistration?: { readonly softwareStatementKeys?: readonly JWK[] };
  /** Bulk Data `$export`: how long a finished export's files are kept before deletion (default 24 h). */
  readonly bulkExport?: { readonly fileTtlHours?: number };
  /** Break-glass and other notifications are also POSTed here (JSON, no PHI), if set. */
  readonly notifications?: { readonly webhookUrl?: string };
  /**
   * Serve HTTPS with this PEM certificate chain and key (`node start --tls-cert/--tls-key` override
   * it). Without it the node speaks plain HTTP, for a TLS-terminating proxy in front (docs/deploy).
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /**
   * FHIR profiles to validate against besides the vendored IPS 2.0.0 and US Core 5.0.1 subset:
   * folders of StructureDefinitions with snapshots (e.g. an unpacked `hl7.fhir.us.core` package's
   * `package/`), relative to the node folder. A resource claiming a loaded profile in `meta.profile`
   * must conform to it; `$validate?profile=` can name it.
   */
  readonly fhir?: { readonly profileFolders?: readonly string[] };
  /**
   * Where the vault's key-encryption key comes from (docs/security-model.md, "Keys at rest"). Never
   * from the data folder alone: a PKCS#11 token (HSM), or a keystore unlocked by an operator secret
   * from outside the folder. Without this setting and without CARELEDGER_KEYSTORE_PASSPHRASE the node
   * runs in demo key mode (the passphrase beside the keystore) and says so loudly.
   */
  readonly vaultKeys?: VaultKeysConfig;
}

export type VaultKeysConfig =
  | {
      readonly provider: 'pkcs11';
      /** The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
      readonly module: string;
      readonly tokenLabel: string;
      /** Label of the AES-256 KEK in the token (default `careledger-kek`). */
      readonly keyLabel?: string;
      /** The user PIN: from this environment variable (default CARELEDGER_HSM_PIN)... */
      readonly pinEnv?: string;
      /** ...or from this file, outside the data folder, mode 0600. */
      readonly pinFile?: string;
    }
  | {
      /** The local keystore, unlocked by CARELEDGER_KEYSTORE_PASSPHRASE or `passphraseFile`. */
      readonly provider: 'passphrase';
      /** A file outside the data folder, mode 0600. */
      readonly passphraseFile?: string;
    }
  /** The passphrase beside the keystore: demo only. */
  | { readonly provider: 'demo' };

export interface NodePaths {
  readonly dir: string;
  readonly config: string;
  readonly database: string;
  readonly ledgerKey: string;
  readonly logSignerKey: string;
  readonly adminToken: string;
  readonly tokenSigningKey: string;
}

export function nodePaths(dir: string): NodePaths {
  return {
    dir,
    config: join(dir, 'node.json'),
    database: join(dir, 'node.db'),
    ledgerKey: join(dir, 'ledger.key'),
    logSignerKey: join(dir, 'log-signer.key'),
    adminToken: join(dir, 'admin.token'),
    tokenSigningKey: join(dir, 'token-signing.jwk.json'),
  };
}

export function saveNodeConfig(dir: string, config: NodeConfig): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileDurably(nodePaths(dir).config, `${JSON.stringify(config, null, 2)}\n`);
}

export function loadNodeConfig(dir: string): NodeConfig {
  const path = nodePaths(dir).config;
  if (!existsSync(path)) throw new CareLedgerError('ERR_CONFIG', `no node configuration at ${path}`);
  let config: NodeConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as NodeConfig;
  } catch (cause) {
    throw new CareLedgerError('ERR_CONFIG', `${path} is not valid JSON`, { cause });
  }
  for (const key of ['name', 'organization', 'host', 'publicUrl', 'logOrigin', 'deploymentFile'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new CareLedgerError('ERR_CONFIG', `${path}: ${key} is missing`);
    }
  }
  if (!isMemberRole(config.role)) throw new CareLedgerError('ERR_CONFIG', `${path}: unknown role`);
  if (!Number.isInteger(config.port)) throw new CareLedgerError('ERR_CONFIG', `${path}: port is missing`);
  const maxMinutes = config.breakGlass?.maxMinutes;
  if (maxMinutes !== undefined && (!Number.isInteger(maxMinutes) || maxMinutes < 1 || maxMinutes > 24 * 60)) {
    throw new CareLedgerError('ERR_CONFIG', `${path}: breakGlass.maxMinutes must be 1 to 1440`);
  }
  for (const key of ['maxOpenings', 'openingsWindowMinutes'] as const) {
    const value = config.breakGlass?.[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 7 * 24 * 60)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `${path}: breakGlass.${key} must be an integer from 1 to 10080`,
      );
    }
  }
  if (config.cors?.allowedOrigins?.some((origin) => origin === '*' || !/^https?:\/\/[^/]+$/.test(origin))) {
    throw new CareLedgerError(
      'ERR_CONFIG',
      `${path}: cors.allowedOrigins must be origins (scheme://host[:port]), never *`,
    );
  }
  for (const [key, value] of Object.entries(config.consentRelayLimits ?? {})) {
    if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 1_000_000) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `${path}: consentRelayLimits.${key} must be an integer from 1 to 1000000`,
      );
    }
  }
  // Production overrides, so one node.json works against any chain (docs/deploy/besu-qbft.md).
  const rpcUrl = process.env.CARELEDGER_CHAIN_RPC_URL;
  return rpcUrl === undefined || rpcUrl === '' ? config : { ...config, chain: { ...config.chain, rpcUrl } };
}

/** The break-glass window a node allows when node.json does not say (the policy's 60 minutes). */
export const DEFAULT_BREAK_GLASS_MAX_MINUTES = 60;

/** The origins allowed by CORS: node.json's list, or the node's own (the portal's). */
export function allowedOrigins(config: NodeConfig): string[] {
  return [...(config.cors?.allowedOrigins ?? [new URL(config.publicUrl).origin])];
}
