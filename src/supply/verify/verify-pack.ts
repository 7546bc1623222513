/**
 * Product verification (issue 19 item 4): does this pack (SGTIN, lot, expiry) exist on the ledger, and
 * may it be handed out? The answer carries the GS1 Lightweight Messaging Standard for Verification of
 * Product Identifiers fields (`verified`, `verificationFailureReason`, `additionalInfo`) and CareLedger's
 * own finer `verdict`, plus the pack's chain of custody as far as the asking member took part in it.
 */
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import {
  type Gs1ElementString,
  parseGs1DigitalLink,
  parseGs1ElementString,
  parseGtin,
} from '../gs1/index.js';
import {
  expiryToYymmdd,
  lotKeyOf,
  packKeyOf,
  type SupplyKey,
  yymmddToExpiry,
} from '../ledger/supply-keys.js';
import type { CustodyStep, PackState, SupplyLedger } from '../ledger/supply-ledger.js';

/** The pack named by a scan or a typed request. */
export interface PackIdentity {
  readonly gtin: string;
  readonly serial: string;
  readonly lot?: string;
  /** ISO date. */
  readonly expiry?: string;
}

export const VERDICTS = [
  'verified',
  'no-match-gtin-serial',
  'lot-mismatch',
  'expiry-mismatch',
  'lot-expiry-mismatch',
  'recalled',
  'suspect',
  'already-dispensed',
  'destroyed',
  'expired',
] as const;
export type Verdict = (typeof VERDICTS)[number];

/** GS1 LMS verificationFailureReason codes (Release 1.x). */
type FailureReason =
  | 'No_match_GTIN_Serial'
  | 'No_match_GTIN_Serial_Lot'
  | 'No_match_GTIN_Serial_Expiry'
  | 'No_match_GTIN_Serial_Lot_Expiry';

export interface VerificationResponse {
  readonly verificationTimestamp: string;
  /** The member that answered (its ledger address). */
  readonly responder: Address;
  /** GS1 LMS response data. */
  readonly data: {
    readonly verified: boolean;
    readonly verificationFailureReason?: FailureReason;
    readonly additionalInfo?: 'Expired' | 'Recalled' | 'Suspect';
  };
  readonly verdict: Verdict;
  readonly product: PackIdentity;
  /** The pack's ledger key (a keyed hash of the SGTIN). */
  readonly pack: Hex;
  readonly state?: {
    readonly status: PackState['status'];
    /** Absent when the product has no expiry. */
    readonly expiry?: string;
    readonly owner: Address;
    readonly manufacturer: Address;
    /** The lot's ledger key (keyed hash of GTIN + lot). */
    readonly lot: Hex;
  };
  /** Ledger steps the asking member took part in, in order; `otherSteps` counts the rest. */
  readonly custody: readonly CustodyStep[];
  readonly otherSteps: number;
}

/**
 * A pack from a DataMatrix element string (`]d2…`, FNC1 as ASCII 29, or `(01)…(21)…`) or a GS1 Digital
 * Link URI. A bad check digit or a malformed AI is refused with its reason (ERR_INVALID_INPUT).
 */
export function parsePackIdentity(text: string, now: Date = new Date()): PackIdentity {
  const trimmed = text.trim();
  const parsed: Gs1ElementString = /^https?:\/\//i.test(trimmed)
    ? parseGs1DigitalLink(trimmed, now)
    : parseGs1ElementString(trimmed, now);
  if (parsed.gtin === undefined || parsed.serial === undefined) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'a pack is named by a GTIN (01) and a serial number (21)',
      {
        details: { reason: 'pack-not-serialized' },
      },
    );
  }
  return {
    gtin: parsed.gtin,
    serial: parsed.serial,
    ...(parsed.lot === undefined ? {} : { lot: parsed.lot }),
    ...(parsed.expiry === undefined ? {} : { expiry: parsed.expiry }),
  };
}

export interface VerifyPackDeps {
  readonly ledger: SupplyLedger;
  readonly key: SupplyKey;
  readonly now?: () => Date;
  /** Packs this node has dispensed but the chain may not show yet (outbox not mined). */
  readonly dispensedHere?: (pack: Hex) => Promise<boolean>;
}

export async function verifyPack(
  deps: VerifyPackDeps,
  request: PackIdentity,
  asker: Address,
): Promise<VerificationResponse> {
  const now = deps.now?.() ?? new Date();
  const product: PackIdentity = { ...request, gtin: parseGtin(request.gtin) };
  const pack = packKeyOf(deps.key, product.gtin, product.serial);
  const state = await deps.ledger.pack(pack);
  const base = { verificationTimestamp: now.toISOString(), responder: deps.ledger.self, product, pack };
  if (state === undefined) {
    return {
      ...base,
      data: { verified: false, verificationFailureReason: 'No_match_GTIN_Serial' },
      verdict: 'no-match-gtin-serial',
      custody: [],
      otherSteps: 0,
    };
  }
  const lotMismatch =
    product.lot !== undefined && lotKeyOf(deps.key, product.gtin, product.lot) !== state.lot;
  // An expiry of 0 was committed for a product that has none (a device whose UDI carries no AI 17).
  const expiryMismatch =
    product.expiry !== undefined && (state.expiry === 0 || expiryToYymmdd(product.expiry) !== state.expiry);
  const committedExpiry = state.expiry === 0 ? undefined : yymmddToExpiry(state.expiry);
  const verdict = decide(state, lotMismatch, expiryMismatch, committedExpiry, now);
  const history = await deps.ledger.history(pack);
  const self = asker.toLowerCase();
  const custody = history.filter((step) =>
    Object.values(step.args).some((value) => typeof value === 'string' && value.toLowerCase() === self),
  );
  const dispensedHere = verdict === 'verified' && (await deps.dispensedHere?.(pack)) === true;
  const finalVerdict: Verdict = dispensedHere ? 'already-dispensed' : verdict;
  return {
    ...base,
    data: lmsData(finalVerdict),
    verdict: finalVerdict,
    state: {
      status: state.status,
      ...(committedExpiry === undefined ? {} : { expiry: committedExpiry }),
      owner: state.owner,
      manufacturer: state.manufacturer,
      lot: state.lot,
    },
    custody,
    otherSteps: history.length - custody.length,
  };
}

function decide(
  state: PackState,
  lotMismatch: boolean,
  expiryMismatch: boolean,
  expiry: string | undefined,
  now: Date,
): Verdict {
  if (lotMismatch && expiryMismatch) return 'lot-expiry-mismatch';
  if (lotMismatch) return 'lot-mismatch';
  if (expiryMismatch) return 'expiry-mismatch';
  if (state.recalled) return 'recalled';
  if (state.status === 'dispensed') return 'already-dispensed';
  if (state.suspect) return 'suspect';
  if (state.status === 'destroyed') return 'destroyed';
  // GS1 §7.12: a pack may be used through its expiry date (a day of 00 was already made the month's end).
  if (expiry !== undefined && expiry < now.toISOString().slice(0, 10)) return 'expired';
  return 'verified';
}

function lmsData(verdict: Verdict): VerificationResponse['data'] {
  switch (verdict) {
    case 'verified':
      return { verified: true };
    case 'no-match-gtin-serial':
      return { verified: false, verificationFailureReason: 'No_match_GTIN_Serial' };
    case 'lot-mismatch':
      return { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Lot' };
    case 'expiry-mismatch':
      return { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Expiry' };
    case 'lot-expiry-mismatch':
      return { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Lot_Expiry' };
    case 'recalled':
      return { verified: true, additionalInfo: 'Recalled' };
    case 'expired':
      return { verified: true, additionalInfo: 'Expired' };
    // A pack already dispensed or destroyed that is presented again is a cloned identifier.
    case 'already-dispensed':
    case 'destroyed':
    case 'suspect':
      return { verified: true, additionalInfo: 'Suspect' };
  }
}
