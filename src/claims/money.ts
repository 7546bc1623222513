import { CareLedgerError } from '../errors/index.js';

/**
 * Money is held as integer cents so sums never drift. FHIR `Money.value` is a JSON decimal; it is
 * converted through its decimal string, never by multiplying a float, and more than two fraction
 * digits is refused rather than rounded.
 */
export function parseCents(value: number | string, field: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (match === null) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} is not an amount with at most 2 decimals`, {
      details: { reason: 'invalid-amount', field },
    });
  }
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  if (!Number.isSafeInteger(cents)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} is too large`, {
      details: { reason: 'invalid-amount', field },
    });
  }
  return match[1] === '-' && cents !== 0 ? -cents : cents;
}

/** Cents back to a FHIR decimal (exact: two fraction digits at most). */
export function centsToDecimal(cents: number): number {
  return cents / 100;
}

/**
 * `numerator / denominator` rounded half to even (banker's rounding, IEEE 754 §4.3.1
 * roundTiesToEven), for non-negative integers. Half-even keeps the expected rounding error of many
 * coinsurance lines at zero, where half-up would bias every tie towards the patient.
 */
export function divideHalfEven(numerator: number, denominator: number): number {
  const quotient = Math.floor(numerator / denominator);
  const remainder = numerator - quotient * denominator;
  const twice = remainder * 2;
  if (twice < denominator) return quotient;
  if (twice > denominator) return quotient + 1;
  return quotient % 2 === 0 ? quotient : quotient + 1;
}

/** A rate in [0,1] with at most 4 decimals, as basis points (0.2 → 2000). */
export function parseBasisPoints(value: number | string, field: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  const match = /^(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  const bp =
    match === null ? Number.NaN : Number(match[1]) * 10_000 + Number((match[2] ?? '').padEnd(4, '0'));
  if (!(bp >= 0 && bp <= 10_000)) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `${field} must be a rate in [0,1] with at most 4 decimals`,
      {
        details: { reason: 'invalid-rate', field },
      },
    );
  }
  return bp;
}
