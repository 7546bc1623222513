import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Address, type Hex, isAddress, isHex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { createNetworkFiles, type NetworkPlan, type ValidatorPlan } from './besu-network-files.js';
import { addressOfPublicKey, createValidatorKey, type ValidatorKey } from './validator-key.js';

export interface InitNetworkOptions {
  readonly out: string;
  readonly chainId: number;
  /** Generate this many validator keys here (a staging network: this machine then held every key)... */
  readonly validators?: number;
  /** ...or take each organization's public key, generated on its own host (`network keygen`). */
  readonly publicKeys?: readonly { readonly name: string; readonly publicKey: string }[];
  /** Validators' P2P IP addresses, in order; default 10.0.0.11, .12, … (placeholders). */
  readonly hosts?: readonly string[];
  readonly accounts?: readonly string[];
  readonly blockPeriodSeconds?: number;
  readonly besuImage?: string;
  readonly now?: () => number;
  readonly createKey?: () => ValidatorKey;
}

export interface InitNetworkResult {
  readonly plan: NetworkPlan;
  readonly files: readonly string[];
  /** Private keys written here (0600), one per generated validator. */
  readonly keyFiles: readonly string[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** Besu's default image; pin the release your staging network ran. */
export const DEFAULT_BESU_IMAGE = 'hyperledger/besu:25.8.0';

function refuse(why: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', why);
}

/** Writes a QBFT network's genesis and per-validator Besu files into an empty (or new) folder. */
export function initNetwork(options: InitNetworkOptions): InitNetworkResult {
  if (!Number.isSafeInteger(options.chainId) || options.chainId < 1)
    throw refuse('the chain id must be a positive integer');
  if (existsSync(options.out) && readdirSync(options.out).length > 0)
    throw new CareLedgerError('ERR_CONFIG', `${options.out} is not empty; give a new folder`);
  const generated = new Map<string, ValidatorKey>();
  let keys: { name: string; publicKey: Hex; address: Address }[];
  if (options.publicKeys !== undefined) {
    keys = options.publicKeys.map(({ name, publicKey }) => {
      const key = publicKey.startsWith('0x') ? publicKey : `0x${publicKey}`;
      if (!isHex(key) || key.length !== 130) throw refuse(`the public key of ${name} is not 64 bytes of hex`);
      return { name, publicKey: key, address: addressOfPublicKey(key) };
    });
  } else {
    const count = options.validators ?? 4;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw refuse('--validators must be 1 to 64');
    keys = Array.from({ length: count }, (_, i) => {
      const key = (options.createKey ?? createValidatorKey)();
      const name = `validator-${i + 1}`;
      generated.set(name, key);
      return { name, publicKey: key.publicKey, address: key.address };
    });
  }
  const names = new Set(keys.map((k) => k.name));
  if (names.size !== keys.length || [...names].some((n) => !/^[a-z0-9][a-z0-9-]{0,62}$/.test(n)))
    throw refuse('validator names must be unique, lower-case letters, digits and dashes');
  if (new Set(keys.map((k) => k.address)).size !== keys.length) throw refuse('two validators share a key');
  const hosts = options.hosts ?? keys.map((_, i) => `10.0.0.${11 + i}`);
  if (hosts.length !== keys.length) throw refuse(`${keys.length} validators but ${hosts.length} hosts`);
  for (const host of hosts) if (!IPV4.test(host)) throw refuse(`${host} is not an IPv4 address`);
  for (const account of options.accounts ?? [])
    if (!isAddress(account, { strict: false })) throw refuse(`${account} is not an account address`);
  const validators: ValidatorPlan[] = keys.map((k, i) => ({ ...k, host: hosts[i] as string }));
  const plan: NetworkPlan = {
    chainId: options.chainId,
    validators,
    accounts: (options.accounts ?? []) as Address[],
    blockPeriodSeconds: options.blockPeriodSeconds ?? 2,
    requestTimeoutSeconds: 2 * (options.blockPeriodSeconds ?? 2),
    timestamp: Math.floor((options.now ?? Date.now)() / 1000),
    besuImage: options.besuImage ?? DEFAULT_BESU_IMAGE,
    p2pPort: 30303,
    rpcPort: 8545,
  };
  mkdirSync(options.out, { recursive: true, mode: 0o755 });
  const written: string[] = [];
  for (const file of createNetworkFiles(plan)) {
    const path = join(options.out, file.path);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileDurably(path, file.content, file.mode);
    written.push(file.path);
  }
  const keyFiles: string[] = [];
  for (const [name, key] of generated) {
    const path = join(options.out, name, 'key');
    writeFileDurably(path, `${key.privateKey}\n`, 0o600);
    keyFiles.push(join(name, 'key'));
  }
  return { plan, files: written, keyFiles };
}

/** One organization's validator key, generated on its own host: `key` (0600) and `key.pub`. */
export function writeValidatorKey(dir: string, createKey: () => ValidatorKey = createValidatorKey) {
  const keyFile = join(dir, 'key');
  if (existsSync(keyFile))
    throw new CareLedgerError('ERR_CONFIG', `${keyFile} exists; never overwrite a node key`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = createKey();
  writeFileDurably(keyFile, `${key.privateKey}\n`, 0o600);
  writeFileDurably(join(dir, 'key.pub'), `${key.publicKey}\n`, 0o644);
  return { publicKey: key.publicKey, address: key.address };
}
