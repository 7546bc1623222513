import { CareLedgerError } from '../../errors/index.js';

/**
 * The GS1 check digit of a numeric key (GTIN-8/12/13/14, SSCC, GLN): GS1 General Specifications
 * §7.9.1, standard mod-10 with weights 3, 1, 3, ... counted from the rightmost data digit.
 */
export function computeGs1CheckDigit(dataDigits: string): number {
  if (!/^[0-9]+$/.test(dataDigits)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a GS1 key has digits only', {
      details: { reason: 'gs1-not-numeric' },
    });
  }
  let sum = 0;
  for (let i = 0; i < dataDigits.length; i += 1) {
    const digit = dataDigits.charCodeAt(dataDigits.length - 1 - i) - 48;
    sum += i % 2 === 0 ? digit * 3 : digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the last digit of `key` is the GS1 check digit of the others; never throws. */
export function isGs1CheckDigitValid(key: string): boolean {
  if (!/^[0-9]{2,}$/.test(key)) return false;
  return computeGs1CheckDigit(key.slice(0, -1)) === Number(key.at(-1));
}

/**
 * A GTIN-8, -12, -13 or -14 as the 14-digit form GS1 keys use in element strings and Digital Link
 * (left-padded with zeros, §3.3.2), after checking its length and check digit.
 */
export function parseGtin(value: string): string {
  if (!/^[0-9]+$/.test(value) || ![8, 12, 13, 14].includes(value.length)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a GTIN has 8, 12, 13 or 14 digits', {
      details: { reason: 'gtin-length' },
    });
  }
  if (!isGs1CheckDigitValid(value)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the GTIN check digit is wrong', {
      details: { reason: 'gtin-check-digit', expected: computeGs1CheckDigit(value.slice(0, -1)) },
    });
  }
  return value.padStart(14, '0');
}

/** An SSCC (AI 00): 18 digits, the last a GS1 check digit (§3.2.2). */
export function parseSscc(value: string): string {
  if (!/^[0-9]{18}$/.test(value)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'an SSCC has 18 digits', {
      details: { reason: 'sscc-length' },
    });
  }
  if (!isGs1CheckDigitValid(value)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the SSCC check digit is wrong', {
      details: { reason: 'sscc-check-digit' },
    });
  }
  return value;
}
