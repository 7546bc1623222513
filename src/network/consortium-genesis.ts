import { existsSync, readFileSync } from 'node:fs';
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { type GenesisMember, isMemberRole } from '../ledger/index.js';

/** The founding members and k of the k-of-n vote: what `careledger chain deploy` puts in ConsortiumRegistry. */
export interface ConsortiumGenesis {
  readonly threshold: number;
  readonly members: readonly GenesisMember[];
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new CareLedgerError('ERR_CONFIG', `${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CareLedgerError('ERR_CONFIG', `${path} is not valid JSON`, { cause });
  }
}

/** One member's entry as `careledger node init` writes it (member.json); throws on anything malformed. */
export function parseGenesisMember(value: unknown, where: string): GenesisMember {
  const m = (value ?? {}) as Record<string, unknown>;
  const bad = (field: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', `${where}: ${field} is missing or malformed`);
  if (typeof m.account !== 'string' || !isAddress(m.account, { strict: false })) throw bad('account');
  for (const field of ['name', 'fhirBaseUrl', 'logOrigin', 'logVerifierKey'] as const)
    if (typeof m[field] !== 'string' || m[field] === '') throw bad(field);
  if (!isMemberRole(m.role)) throw bad('role');
  const encryptionPublicKey = m.encryptionPublicKey ?? '0x';
  if (typeof encryptionPublicKey !== 'string' || !isHex(encryptionPublicKey))
    throw bad('encryptionPublicKey');
  return {
    account: getAddress(m.account as Address),
    name: m.name as string,
    role: m.role,
    fhirBaseUrl: m.fhirBaseUrl as string,
    logOrigin: m.logOrigin as string,
    logVerifierKey: m.logVerifierKey as string,
    encryptionPublicKey: encryptionPublicKey as Hex,
  };
}

export function validateConsortiumGenesis(genesis: ConsortiumGenesis): ConsortiumGenesis {
  const n = genesis.members.length;
  if (n === 0)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the consortium needs at least one founding member');
  if (!Number.isInteger(genesis.threshold) || genesis.threshold < 1 || genesis.threshold > n)
    throw new CareLedgerError('ERR_INVALID_INPUT', `the threshold must be 1 to ${n} (the founding members)`);
  const seen = new Set<string>();
  for (const m of genesis.members) {
    for (const key of [m.account, `origin:${m.logOrigin}`]) {
      if (seen.has(key)) throw new CareLedgerError('ERR_INVALID_INPUT', `two founding members share ${key}`);
      seen.add(key);
    }
  }
  return genesis;
}

/** A whole consortium genesis file: `{ "threshold": k, "members": [member.json, …] }`. */
export function loadConsortiumGenesis(path: string): ConsortiumGenesis {
  const raw = (readJson(path) ?? {}) as { threshold?: unknown; members?: unknown };
  if (!Array.isArray(raw.members))
    throw new CareLedgerError('ERR_INVALID_INPUT', `${path}: members is not a list`);
  return validateConsortiumGenesis({
    threshold: Number(raw.threshold),
    members: raw.members.map((m, i) => parseGenesisMember(m, `${path} members[${i}]`)),
  });
}

/** Member files (one per organization, from `careledger node init`) and k given on the command line. */
export function consortiumGenesisFromMembers(files: readonly string[], threshold: number): ConsortiumGenesis {
  return validateConsortiumGenesis({
    threshold,
    members: files.map((file) => parseGenesisMember(readJson(file), file)),
  });
}
