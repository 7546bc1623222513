/**
 * Canonical forms of single values in an EPCIS event pre-hash (CBV 2.0 §8.9.2): timestamps in
 * UTC at millisecond precision, numbers without redundant zeros or sign, CBV URNs as GS1 Web
 * URIs, EPCs as canonical GS1 Digital Link URIs.
 */
import { epcToDigitalLink } from './epc-to-digital-link.js';

const CBV_URN_TO_WEB_URI: ReadonlyArray<readonly [string, string]> = [
  ['urn:epcglobal:cbv:bizstep:', 'https://ref.gs1.org/cbv/BizStep-'],
  ['urn:epcglobal:cbv:disp:', 'https://ref.gs1.org/cbv/Disp-'],
  ['urn:epcglobal:cbv:btt:', 'https://ref.gs1.org/cbv/BTT-'],
  ['urn:epcglobal:cbv:sdt:', 'https://ref.gs1.org/cbv/SDT-'],
  ['urn:epcglobal:cbv:er:', 'https://ref.gs1.org/cbv/ER-'],
];

export function cbvUrnToWebUri(text: string): string {
  for (const [urn, web] of CBV_URN_TO_WEB_URI) {
    if (text.startsWith(urn)) return `${web}${text.slice(urn.length)}`;
  }
  return text;
}

const DECIMAL = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * A decimal number written the way the reference implementation prints it (Python's shortest
 * float repr, integers without ".0"); anything that is not a decimal number is returned as is.
 */
export function canonicalNumber(text: string): string {
  if (!DECIMAL.test(text)) return text;
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (Number.isInteger(n)) return BigInt(n).toString();
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) return String(n);
  // Python switches to exponent notation below 1e-4 and writes the exponent with 2+ digits.
  const [mantissa, exponent = '0'] = n.toExponential().split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An ISO 8601 date-time converted to UTC and written with exactly three fraction digits and "Z".
 * Sub-millisecond digits are rounded half to even, as the reference does; a text that is not an
 * ISO 8601 date-time is returned unchanged. A date-time without an offset is taken as UTC.
 */
export function canonicalTimestamp(text: string): string {
  const m = ISO_DATE_TIME.exec(text.trim());
  if (!m) return text;
  const [, y, mo, d, h, mi, s = '0', fraction = '', zone] = m;
  const micros = Number(fraction.slice(0, 6).padEnd(6, '0'));
  const whole = Math.floor(micros / 1000);
  const rest = micros % 1000;
  const millis = rest > 500 || (rest === 500 && whole % 2 === 1) ? whole + 1 : whole;
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    offsetMinutes = zone.startsWith('-') ? -minutes : minutes;
  }
  const utc =
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) -
    offsetMinutes * 60_000 +
    millis;
  if (!Number.isFinite(utc)) return text;
  return new Date(utc).toISOString();
}

/** A value run through every canonicalisation: CBV vocabulary, number, GS1 Digital Link. */
export function canonicalValue(text: string): string {
  const value = canonicalNumber(cbvUrnToWebUri(text));
  return epcToDigitalLink(value) ?? value;
}
