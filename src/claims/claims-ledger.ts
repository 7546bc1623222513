import { type Address, encodeFunctionData, getAddress, type Hex, type PublicClient, stringToHex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { claimsRegistryAbi, type Deployment } from '../ledger/index.js';
import { dayNumber } from './check-claim.js';

/** Whatever puts a transaction on the chain: the node's durable outbox, or a CLI's signer. */
export interface ClaimsTransactionSender {
  submit(request: { readonly label: string; readonly to: Address; readonly data: Hex }): Promise<unknown>;
}

export interface AnchoredPolicy {
  readonly policyHash: Hex;
  /** Days since 1970-01-01, inclusive. */
  readonly validFrom: number;
  readonly validTo: number;
  readonly publishedAt: number;
}

export const DECISION_STATUSES = ['none', 'anchored', 'disputed', 'resolved'] as const;
export type DecisionStatus = (typeof DECISION_STATUSES)[number];

export interface AnchoredDecision {
  readonly payer: Address;
  readonly provider: Address;
  readonly decisionCommitment: Hex;
  /** keccak256 of the policy version text. */
  readonly policyVersionHash: Hex;
  readonly amountDueCents: bigint;
  readonly paidCents: bigint;
  readonly currency: string;
  readonly status: DecisionStatus;
  readonly anchoredAt: number;
}

export interface DecisionAnchor {
  /** Hex (64 digits, with or without 0x) of claimCommitment. */
  readonly claimCommitment: string;
  readonly provider: Address;
  readonly policyVersion: string;
  readonly decisionCommitment: string;
  readonly amountDueCents: number;
  readonly currency: string;
}

/** A 32-byte commitment as the contract takes it. */
export function toBytes32(hex: string): Hex {
  const digits = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{64}$/.test(digits)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a commitment must be 32 bytes of hex', {
      details: { reason: 'invalid-commitment' },
    });
  }
  return `0x${digits.toLowerCase()}`;
}

/** An ISO 4217 code as the contract's bytes3. */
function toCurrency(code: string): Hex {
  if (!/^[A-Z]{3}$/.test(code))
    throw new CareLedgerError('ERR_INVALID_INPUT', 'currency must be an ISO 4217 code', {
      details: { reason: 'invalid-currency' },
    });
  return stringToHex(code, { size: 3 });
}

function fromCurrency(hex: Hex): string {
  return Buffer.from(hex.slice(2), 'hex').toString('latin1');
}

/** A YYYY-MM-DD calendar date as the contract's day number. */
export function toDay(date: string): number {
  const day = dayNumber(date);
  if (Number.isNaN(day) || day < 0)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'not a calendar date', {
      details: { reason: 'invalid-date' },
    });
  return day;
}

/**
 * Typed writes and reads of ClaimsRegistry (contracts/ClaimsRegistry.sol). Writes go through a sender
 * (the node's durable outbox, which simulates first, so a revert such as a duplicate commitment is
 * refused before anything is signed); reads go straight to the chain.
 */
export class ClaimsLedger {
  readonly address: Address;

  constructor(
    deployment: Pick<Deployment, 'contracts'>,
    private readonly sender: ClaimsTransactionSender | undefined,
    private readonly client: Pick<PublicClient, 'readContract'>,
  ) {
    const address = deployment.contracts.claimsRegistry;
    if (address === undefined) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        'the deployment record names no ClaimsRegistry contract (deployed before claims existed)',
      );
    }
    this.address = address;
  }

  private send(label: string, data: Hex): Promise<unknown> {
    if (this.sender === undefined)
      throw new CareLedgerError('ERR_CONFIG', 'this claims ledger handle is read-only');
    return this.sender.submit({ label, to: this.address, data });
  }

  publishPolicy(version: string, policyHash: string, validFrom: string, validTo: string): Promise<unknown> {
    return this.send(
      'claims publishPolicy',
      encodeFunctionData({
        abi: claimsRegistryAbi,
        functionName: 'publishPolicy',
        args: [version, toBytes32(policyHash), toDay(validFrom), toDay(validTo)],
      }),
    );
  }

  anchorDecision(anchor: DecisionAnchor): Promise<unknown> {
    return this.send(
      'claims anchorDecision',
      encodeFunctionData({
        abi: claimsRegistryAbi,
        functionName: 'anchorDecision',
        args: [
          toBytes32(anchor.claimCommitment),
          anchor.provider,
          anchor.policyVersion,
          toBytes32(anchor.decisionCommitment),
          BigInt(anchor.amountDueCents),
          toCurrency(anchor.currency),
        ],
      }),
    );
  }

  recordSettlement(claimCommitment: string, amountCents: number): Promise<unknown> {
    return this.send(
      'claims recordSettlement',
      encodeFunctionData({
        abi: claimsRegistryAbi,
        functionName: 'recordSettlement',
        args: [toBytes32(claimCommitment), BigInt(amountCents)],
      }),
    );
  }

  dispute(claimCommitment: string, reasonHash: string): Promise<unknown> {
    return this.send(
      'claims dispute',
      encodeFunctionData({
        abi: claimsRegistryAbi,
        functionName: 'dispute',
        args: [toBytes32(claimCommitment), toBytes32(reasonHash)],
      }),
    );
  }

  resolveDispute(claimCommitment: string, resolutionHash: string, amountDueCents: number): Promise<unknown> {
    return this.send(
      'claims resolveDispute',
      encodeFunctionData({
        abi: claimsRegistryAbi,
        functionName: 'resolveDispute',
        args: [toBytes32(claimCommitment), toBytes32(resolutionHash), BigInt(amountDueCents)],
      }),
    );
  }

  /** A payer's published version, or undefined if it never published it. */
  async policy(payer: Address, version: string): Promise<AnchoredPolicy | undefined> {
    const p = await this.client.readContract({
      address: this.address,
      abi: claimsRegistryAbi,
      functionName: 'policyOf',
      args: [payer, version],
    });
    if (/^0x0{64}$/.test(p.policyHash)) return undefined;
    return {
      policyHash: p.policyHash,
      validFrom: p.validFrom,
      validTo: p.validTo,
      publishedAt: Number(p.publishedAt),
    };
  }

  async policyVersions(payer: Address): Promise<string[]> {
    return [
      ...(await this.client.readContract({
        address: this.address,
        abi: claimsRegistryAbi,
        functionName: 'policyVersions',
        args: [payer],
      })),
    ];
  }

  /** The decision anchored for a claim commitment, or undefined. */
  async decision(claimCommitment: string): Promise<AnchoredDecision | undefined> {
    const d = await this.client.readContract({
      address: this.address,
      abi: claimsRegistryAbi,
      functionName: 'decisionOf',
      args: [toBytes32(claimCommitment)],
    });
    const status = DECISION_STATUSES[d.status] ?? 'none';
    if (status === 'none') return undefined;
    return {
      payer: getAddress(d.payer),
      provider: getAddress(d.provider),
      decisionCommitment: d.decisionCommitment,
      policyVersionHash: d.policyVersion,
      amountDueCents: d.amountDueCents,
      paidCents: d.paidCents,
      currency: fromCurrency(d.currency),
      status,
      anchoredAt: Number(d.anchoredAt),
    };
  }
}
