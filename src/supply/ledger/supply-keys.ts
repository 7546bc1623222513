/**
 * How packs and lots are named on the ledger (decision 0023): HMAC-SHA256 under the consortium's
 * supply key, never a bare hash. A GTIN has few candidate serials per lot in many numbering schemes, so
 * a bare hash of an SGTIN could be found by trying them; with the key only trading partners can.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { parseGtin, parseSscc } from '../gs1/index.js';

/** The supply key every trading partner of one consortium shares (32 bytes). */
export type SupplyKey = Uint8Array;

export const SUPPLY_KEY_FILE = 'supply.key';
export const SUPPLY_KEY_ENV = 'CARELEDGER_SUPPLY_KEY';

function keyed(key: SupplyKey, label: string, parts: readonly string[]): Hex {
  const mac = createHmac('sha256', key).update(label);
  // NUL-separated: no GS1 field may contain NUL (character set 82), so ("1","23") and ("12","3") differ.
  for (const part of parts) mac.update('\0').update(part, 'utf8');
  return `0x${mac.digest('hex')}`;
}

/** The ledger key of one pack: HMAC over GTIN-14 and serial. */
export function packKeyOf(key: SupplyKey, gtin: string, serial: string): Hex {
  return keyed(key, 'careledger/supply/sgtin/v1', [parseGtin(gtin), serial]);
}

/** The ledger key of one lot of a product: HMAC over GTIN-14 and lot. */
export function lotKeyOf(key: SupplyKey, gtin: string, lot: string): Hex {
  return keyed(key, 'careledger/supply/lot/v1', [parseGtin(gtin), lot]);
}

/** The ledger key of a case (a logistic unit): HMAC over its SSCC, so case contents stay unreadable. */
export function caseKeyOf(key: SupplyKey, sscc: string): Hex {
  return keyed(key, 'careledger/supply/sscc/v1', [parseSscc(sscc)]);
}

/** An ISO date as the YYMMDD number the contract keeps (GS1 AI 17). */
export function expiryToYymmdd(isoDate: string): number {
  const match = /^\d{2}(\d{2})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (match === null) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'an expiry is an ISO date YYYY-MM-DD', {
      details: { reason: 'gs1-date' },
    });
  }
  return Number(`${match[1]}${match[2]}${match[3]}`);
}

/** The contract's YYMMDD back as an ISO date (20YY: GS1 §7.12's century window for pharma expiries). */
export function yymmddToExpiry(value: number): string {
  const text = String(value).padStart(6, '0');
  return `20${text.slice(0, 2)}-${text.slice(2, 4)}-${text.slice(4, 6)}`;
}

/**
 * The supply key of a node: the `CARELEDGER_SUPPLY_KEY` environment variable (64 hex digits), else
 * `<dir>/supply.key`, which is created (random) when absent. Every trading partner must hold the same
 * key: the consortium's operators distribute it out of band (the demo writes one into each node).
 */
export function loadOrCreateSupplyKey(dir: string, env: NodeJS.ProcessEnv = process.env): SupplyKey {
  const fromEnv = env[SUPPLY_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return parseSupplyKey(fromEnv);
  const path = join(dir, SUPPLY_KEY_FILE);
  if (existsSync(path)) return parseSupplyKey(readFileSync(path, 'utf8'));
  const key = randomBytes(32);
  writeFileDurably(path, `${key.toString('hex')}\n`);
  return key;
}

export function parseSupplyKey(text: string): SupplyKey {
  const hex = text.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new CareLedgerError('ERR_CONFIG', 'the supply key is 32 bytes as 64 hex digits');
  }
  return Buffer.from(hex, 'hex');
}
