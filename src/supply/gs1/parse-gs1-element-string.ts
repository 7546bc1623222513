import { CareLedgerError } from '../../errors/index.js';
import {
  CHARACTER_SET_82,
  findApplicationIdentifier,
  type Gs1ApplicationIdentifier,
} from './gs1-application-identifiers.js';
import { isGs1CheckDigitValid } from './gs1-check-digit.js';

/** One AI and its data, as read from a pack. */
export interface Gs1Element {
  readonly ai: string;
  readonly value: string;
}

/** What a pack's barcode says, with the keys a supply chain needs pulled out and checked. */
export interface Gs1ElementString {
  readonly elements: readonly Gs1Element[];
  /** AI 01 (or 02), 14 digits. */
  readonly gtin?: string;
  readonly sscc?: string;
  /** AI 21. */
  readonly serial?: string;
  /** AI 10. */
  readonly lot?: string;
  /** AI 17 as an ISO date; a day of 00 is the month's last day (§7.12). */
  readonly expiry?: string;
  /** AI 11 (a device's UDI production identifier) as an ISO date, or `YYYY-MM` for a day of 00. */
  readonly productionDate?: string;
}

/** ASCII 29, how a scanner transmits FNC1 between elements (§7.8.5). */
export const GROUP_SEPARATOR = '\u001d';

/** Symbology identifiers a scanner may prefix: GS1 DataMatrix, GS1-128, GS1 QR, GS1 DataBar (§5.1.2). */
const SYMBOLOGY_PREFIX = /^\](d2|C1|Q3|e0|J1)/;

function refuse(reason: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason, ...details } });
}

/**
 * Parses a GS1 element string as a 2D DataMatrix on a pack carries it: either as transmitted (an
 * optional symbology identifier such as `]d2`, elements separated by FNC1 transmitted as ASCII 29) or
 * in human-readable form `(01)09506000134352(17)201225(10)ABC(21)XYZ`. Every element is checked
 * (known AI, length, character set, check digits, real dates), and the rules of §4.14 that a pack
 * must obey (no AI twice with different data; a serial, lot or expiry only with a GTIN).
 */
export function parseGs1ElementString(input: string, now: Date = new Date()): Gs1ElementString {
  const text = input.trim();
  if (text === '') refuse('gs1-empty', 'the GS1 element string is empty');
  const elements = text.startsWith('(') ? splitHumanReadable(text) : splitTransmitted(text);
  return collectElements(elements, now);
}

function splitHumanReadable(text: string): Gs1Element[] {
  const parts = text.split(/\((\d{2,4})\)/);
  if (parts[0] !== '') refuse('gs1-syntax', 'human-readable GS1 data starts with an AI in brackets');
  const elements: Gs1Element[] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const ai = parts[i] as string;
    const definition = findApplicationIdentifier(ai);
    if (definition === undefined || definition.ai !== ai) {
      refuse('gs1-unknown-ai', 'unknown GS1 application identifier', { ai });
    }
    elements.push({ ai, value: parts[i + 1] ?? '' });
  }
  return elements;
}

function splitTransmitted(raw: string): Gs1Element[] {
  let text = raw.replace(SYMBOLOGY_PREFIX, '');
  const elements: Gs1Element[] = [];
  while (text.length > 0) {
    if (text.startsWith(GROUP_SEPARATOR)) {
      text = text.slice(1);
      continue;
    }
    const definition = findApplicationIdentifier(text);
    if (definition === undefined) {
      refuse('gs1-unknown-ai', 'unknown GS1 application identifier', { at: raw.length - text.length });
    }
    text = text.slice(definition.ai.length);
    let value: string;
    if (definition.predefined) {
      value = text.slice(0, definition.fixedLength);
      text = text.slice(value.length);
    } else {
      const end = text.indexOf(GROUP_SEPARATOR);
      value = end === -1 ? text : text.slice(0, end);
      text = end === -1 ? '' : text.slice(end + 1);
    }
    elements.push({ ai: definition.ai, value });
  }
  return elements;
}

function collectElements(elements: readonly Gs1Element[], now: Date): Gs1ElementString {
  const seen = new Map<string, string>();
  for (const element of elements) {
    const definition = findApplicationIdentifier(element.ai) as Gs1ApplicationIdentifier;
    checkElementValue(definition, element.value);
    const earlier = seen.get(element.ai);
    if (earlier !== undefined && earlier !== element.value) {
      refuse('gs1-duplicate-ai', 'the same AI appears twice with different data (§4.14.1)', {
        ai: element.ai,
      });
    }
    seen.set(element.ai, element.value);
  }
  const gtin = seen.get('01') ?? seen.get('02');
  for (const needsGtin of ['10', '11', '17', '21']) {
    if (seen.has(needsGtin) && gtin === undefined) {
      refuse('gs1-missing-gtin', 'a serial, lot or expiry needs the GTIN (AI 01) it qualifies (§4.14.2)', {
        ai: needsGtin,
      });
    }
  }
  if (seen.has('01') && seen.has('02')) {
    refuse('gs1-invalid-pair', 'AI 01 and AI 02 cannot appear together (§4.14.1)');
  }
  const expiry = seen.get('17');
  const production = seen.get('11');
  const sscc = seen.get('00');
  const serial = seen.get('21');
  const lot = seen.get('10');
  return {
    elements,
    ...(gtin !== undefined ? { gtin } : {}),
    ...(sscc !== undefined ? { sscc } : {}),
    ...(serial !== undefined ? { serial } : {}),
    ...(lot !== undefined ? { lot } : {}),
    ...(expiry !== undefined ? { expiry: parseGs1Date(expiry, now, true) } : {}),
    ...(production !== undefined ? { productionDate: parseGs1Date(production, now, false) } : {}),
  };
}

function checkElementValue(definition: Gs1ApplicationIdentifier, value: string): void {
  const ai = definition.ai;
  if (value === '') refuse('gs1-empty-value', 'a GS1 element has no data', { ai });
  if (definition.fixedLength !== undefined && value.length !== definition.fixedLength) {
    refuse('gs1-length', 'a GS1 element has the wrong length', { ai, expected: definition.fixedLength });
  }
  if (value.length > definition.maxLength) {
    refuse('gs1-length', 'a GS1 element is too long', { ai, max: definition.maxLength });
  }
  switch (definition.kind) {
    case 'gtin':
    case 'sscc':
    case 'gln':
      if (!/^[0-9]+$/.test(value) || !isGs1CheckDigitValid(value)) {
        refuse('gs1-check-digit', 'a GS1 key has a wrong check digit', { ai });
      }
      return;
    case 'numeric':
    case 'date':
      if (!/^[0-9]+$/.test(value)) refuse('gs1-not-numeric', 'a numeric GS1 element has a non-digit', { ai });
      if (definition.kind === 'date') parseGs1Date(value, new Date(), false);
      return;
    case 'text':
      if (!CHARACTER_SET_82.test(value)) {
        refuse('gs1-character-set', 'a GS1 element has a character outside set 82', { ai });
      }
      return;
  }
}

/**
 * A YYMMDD GS1 date as ISO 8601. The century follows §7.12: a year more than 50 years ahead of `now`
 * is in the last century, more than 49 behind is in the next. A day of 00 means the month's last day
 * (for expiry dates) or the month as a whole (`YYYY-MM`).
 */
export function parseGs1Date(value: string, now: Date, dayZeroIsMonthEnd: boolean): string {
  if (!/^[0-9]{6}$/.test(value)) refuse('gs1-date', 'a GS1 date is YYMMDD');
  const yy = Number(value.slice(0, 2));
  const month = Number(value.slice(2, 4));
  const day = Number(value.slice(4, 6));
  const currentYear = now.getUTCFullYear();
  const difference = yy - (currentYear % 100);
  let century = Math.floor(currentYear / 100);
  if (difference >= 51) century -= 1;
  else if (difference <= -50) century += 1;
  const year = century * 100 + yy;
  if (month < 1 || month > 12) refuse('gs1-date', 'a GS1 date has a month outside 01–12');
  const monthEnd = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > monthEnd) refuse('gs1-date', 'a GS1 date has a day the month does not have');
  const yyyyMm = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
  if (day === 0) return dayZeroIsMonthEnd ? `${yyyyMm}-${String(monthEnd).padStart(2, '0')}` : yyyyMm;
  return `${yyyyMm}-${String(day).padStart(2, '0')}`;
}
