/**
 * The CredentialStatus contract from TypeScript (decision 0018): a board registers its issuer key and
 * sets status bits (writes, through whatever signs for it), and a verifier reads issuers and status
 * through CredentialChainIndex, a per-block cache that the chain's own events invalidate exactly.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import {
  type Address,
  encodeFunctionData,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
  type PublicClient,
  parseEventLogs,
  toBytes,
  toHex,
} from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { credentialStatusAbi } from '../ledger/index.js';
import type { StatusPurpose } from './practitioner-credential.js';

export const PURPOSE_CODES: Record<StatusPurpose, number> = { revocation: 0, suspension: 1 };

/** Whatever puts a transaction on the chain: the node's durable outbox, or a CLI's signer. */
export interface CredentialTransactionSender {
  submit(request: { readonly label: string; readonly to: Address; readonly data: Hex }): Promise<unknown>;
}

/** The issuer key as the contract holds it: x || y of a P-256 public JWK and its RFC 7638 thumbprint. */
export async function issuerKeyOnChain(
  jwk: JWK,
): Promise<{ publicKey: Hex; keyThumbprint: Hex; kid: string }> {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.x === undefined || jwk.y === undefined) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'an issuer key must be a P-256 (ES256) JWK');
  }
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  if (x.length !== 32 || y.length !== 32)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a P-256 key has 32-byte x and y');
  const kid = await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, 'sha256');
  return {
    publicKey: toHex(Buffer.concat([x, y])),
    keyThumbprint: toHex(Buffer.from(kid, 'base64url')),
    kid,
  };
}

export function registerIssuerKeyData(issuerId: string, key: { publicKey: Hex; keyThumbprint: Hex }): Hex {
  return encodeFunctionData({
    abi: credentialStatusAbi,
    functionName: 'registerIssuerKey',
    args: [issuerId, key.keyThumbprint, key.publicKey],
  });
}

/** An active member's vote for the key a board proposed (decision 0028). */
export function voteIssuerKeyData(board: Address, keyThumbprint: Hex): Hex {
  return encodeFunctionData({
    abi: credentialStatusAbi,
    functionName: 'voteIssuerKey',
    args: [board, keyThumbprint],
  });
}

/** The ledger's key of a credential: keccak256 of its compact vc+jwt (also the attestation's credentialHash). */
export function credentialHashOf(jwt: string): Hex {
  return keccak256(toBytes(jwt.trim()));
}

/** What a credential says, as its board records it on the ledger (CredentialStatus.CredentialRecord). */
export interface CredentialRecord {
  readonly board: Address;
  readonly subject: Address;
  readonly index: number;
  /** Unix seconds. */
  readonly validFrom: number;
  readonly validUntil: number;
  readonly qualification: { readonly system: string; readonly code: string };
  readonly licenseNumber: string;
  readonly jurisdiction: string;
}

/** The board's transaction recording a credential it issued (decision 0028). */
export function recordCredentialData(credentialHash: Hex, record: Omit<CredentialRecord, 'board'>): Hex {
  return encodeFunctionData({
    abi: credentialStatusAbi,
    functionName: 'recordCredential',
    args: [
      credentialHash,
      {
        board: '0x0000000000000000000000000000000000000000',
        subject: record.subject,
        index: BigInt(record.index),
        validFrom: BigInt(record.validFrom),
        validUntil: BigInt(record.validUntil),
        qualification: `${record.qualification.system}|${record.qualification.code}`,
        licenseNumber: record.licenseNumber,
        jurisdiction: record.jurisdiction,
      },
    ],
  });
}

export function setStatusData(index: number, purpose: StatusPurpose, set: boolean): Hex {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a status-list index is a non-negative integer');
  }
  return encodeFunctionData({
    abi: credentialStatusAbi,
    functionName: 'setStatus',
    args: [BigInt(index), PURPOSE_CODES[purpose], set],
  });
}

/** An issuer as the chain says now: its board, whether admitted, and its key (as a public JWK). */
export interface ChainIssuer {
  readonly board: Address;
  readonly admitted: boolean;
  readonly key?: JWK & { kid: string };
}

export interface ChainStatus {
  readonly revoked: boolean;
  readonly suspended: boolean;
}

/**
 * Issuers and status bits as of the last block `sync` saw. A read is answered from memory when it was
 * read before and no event since touched it: a CredentialStatusChanged event drops that (board,
 * index), an IssuerKeyRegistered event or any ConsortiumRegistry event (a board admitted, removed or
 * re-roled) drops every issuer. A miss reads the contract at the latest block (a pruning node keeps
 * no older state); whatever changes after the synced block is dropped again by the next sync, which
 * covers every block since. `sync` runs once per block (the node's block follower, or a test).
 */
export class CredentialChainIndex {
  private syncedBlock: bigint | undefined;
  private readonly issuers = new Map<string, Promise<ChainIssuer | undefined>>();
  private readonly statuses = new Map<string, Promise<ChainStatus>>();
  private readonly records = new Map<string, Promise<CredentialRecord | undefined>>();
  private readonly boards = new Map<string, Promise<boolean>>();
  /** Contract reads made (misses): what a test or a benchmark counts. */
  reads = 0;

  constructor(
    private readonly client: PublicClient,
    private readonly address: Address,
    private readonly registry: Address,
  ) {}

  get block(): bigint | undefined {
    return this.syncedBlock;
  }

  /** Advances to the chain's latest block, dropping exactly what that block range's events changed. */
  async sync(): Promise<bigint> {
    const latest = await this.client.getBlockNumber({ cacheTime: 0 });
    if (this.syncedBlock === undefined) {
      this.syncedBlock = latest;
      return latest;
    }
    if (latest <= this.syncedBlock) return this.syncedBlock;
    const logs = await this.client.getLogs({
      address: [this.address, this.registry],
      fromBlock: this.syncedBlock + 1n,
      toBlock: latest,
    });
    if (logs.some((l) => getAddress(l.address) === getAddress(this.registry))) this.dropIssuers();
    const own = logs.filter((l) => getAddress(l.address) === getAddress(this.address));
    for (const event of parseEventLogs({ abi: credentialStatusAbi, logs: own })) {
      if (event.eventName === 'IssuerKeyRegistered') this.dropIssuers();
      else if (event.eventName === 'CredentialStatusChanged')
        this.statuses.delete(statusKey(event.args.board, event.args.index));
      else if (event.eventName === 'CredentialRecorded')
        this.records.delete(event.args.credentialHash.toLowerCase());
    }
    this.syncedBlock = latest;
    return latest;
  }

  private dropIssuers(): void {
    this.issuers.clear();
    this.boards.clear();
  }

  private async at(): Promise<bigint> {
    return this.syncedBlock ?? (await this.sync());
  }

  issuer(issuerId: string): Promise<ChainIssuer | undefined> {
    let cached = this.issuers.get(issuerId);
    if (cached === undefined) {
      cached = this.readIssuer(issuerId);
      this.issuers.set(issuerId, cached);
      cached.catch(() => this.issuers.delete(issuerId));
    }
    return cached;
  }

  status(board: Address, index: number): Promise<ChainStatus> {
    const key = statusKey(board, BigInt(index));
    let cached = this.statuses.get(key);
    if (cached === undefined) {
      cached = this.readStatus(board, index);
      this.statuses.set(key, cached);
      cached.catch(() => this.statuses.delete(key));
    }
    return cached;
  }

  /** The credential recorded under this hash (decision 0028); recorded once, never changed. */
  credential(credentialHash: Hex): Promise<CredentialRecord | undefined> {
    const key = credentialHash.toLowerCase();
    let cached = this.records.get(key);
    if (cached === undefined) {
      cached = this.readRecord(credentialHash);
      this.records.set(key, cached);
      cached.catch(() => this.records.delete(key));
    }
    return cached;
  }

  /** Whether the board is an active licensing board with an issuer key the consortium admitted. */
  admittedIssuer(board: Address): Promise<boolean> {
    const key = board.toLowerCase();
    let cached = this.boards.get(key);
    if (cached === undefined) {
      cached = this.at().then(() => {
        this.reads += 1;
        return this.client.readContract({
          address: this.address,
          abi: credentialStatusAbi,
          functionName: 'isAdmittedIssuer',
          args: [board],
        });
      });
      this.boards.set(key, cached);
      cached.catch(() => this.boards.delete(key));
    }
    return cached;
  }

  private async readRecord(credentialHash: Hex): Promise<CredentialRecord | undefined> {
    await this.at();
    this.reads += 1;
    const [record] = await this.client.readContract({
      address: this.address,
      abi: credentialStatusAbi,
      functionName: 'credentialOf',
      args: [credentialHash],
    });
    if (/^0x0{40}$/i.test(record.board)) return undefined;
    const bar = record.qualification.lastIndexOf('|');
    return {
      board: getAddress(record.board),
      subject: getAddress(record.subject),
      index: Number(record.index),
      validFrom: Number(record.validFrom),
      validUntil: Number(record.validUntil),
      qualification: {
        system: bar < 0 ? '' : record.qualification.slice(0, bar),
        code: record.qualification.slice(bar + 1),
      },
      licenseNumber: record.licenseNumber,
      jurisdiction: record.jurisdiction,
    };
  }

  private async readIssuer(issuerId: string): Promise<ChainIssuer | undefined> {
    await this.at();
    this.reads += 1;
    const [board, admitted, keyThumbprint, publicKey] = await this.client.readContract({
      address: this.address,
      abi: credentialStatusAbi,
      functionName: 'issuerOf',
      args: [issuerId],
    });
    if (/^0x0{40}$/i.test(board)) return undefined;
    const bytes = hexToBytes(publicKey);
    if (bytes.length !== 64) return { board: getAddress(board), admitted };
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(bytes.subarray(0, 32)).toString('base64url'),
      y: Buffer.from(bytes.subarray(32)).toString('base64url'),
    };
    // The kid is the thumbprint of the key itself; a registered thumbprint that disagrees names no key.
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    if (toHex(Buffer.from(kid, 'base64url')) !== keyThumbprint.toLowerCase()) {
      return { board: getAddress(board), admitted };
    }
    return { board: getAddress(board), admitted, key: { ...jwk, kid } };
  }

  private async readStatus(board: Address, index: number): Promise<ChainStatus> {
    await this.at();
    this.reads += 1;
    const [revoked, suspended] = await this.client.readContract({
      address: this.address,
      abi: credentialStatusAbi,
      functionName: 'statusOf',
      args: [board, BigInt(index)],
    });
    return { revoked, suspended };
  }
}

function statusKey(board: Address, index: bigint): string {
  return `${board.toLowerCase()}:${index}`;
}
