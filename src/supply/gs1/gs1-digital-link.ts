import { CareLedgerError } from '../../errors/index.js';
import { applicationIdentifier } from './gs1-application-identifiers.js';
import { parseGtin } from './gs1-check-digit.js';
import { type Gs1Element, type Gs1ElementString, parseGs1ElementString } from './parse-gs1-element-string.js';

/** The resolver GS1 runs; any domain may carry a Digital Link, this one is canonical (DL §4.1). */
export const GS1_RESOLVER = 'https://id.gs1.org';

/** Short names of GS1 Digital Link 1.1, which later versions still ask resolvers to accept. */
const CONVENIENCE_ALPHAS: Readonly<Record<string, string>> = {
  gtin: '01',
  cpv: '22',
  lot: '10',
  ser: '21',
  exp: '17',
  sscc: '00',
  gln: '414',
};

/** Key qualifiers allowed after a primary key in the path, in the order DL §4.5 requires. */
const QUALIFIERS: Readonly<Record<string, readonly string[]>> = {
  '01': ['22', '10', '21'],
  '00': [],
  '414': ['254'],
};

function refuse(reason: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason, ...details } });
}

function toAi(segment: string): string {
  return CONVENIENCE_ALPHAS[segment] ?? segment;
}

/**
 * Parses a GS1 Digital Link URI (GS1 Digital Link Standard 1.4: `https://<domain>[/prefix]/01/<gtin>
 * [/22/<cpv>][/10/<lot>][/21/<serial>][?17=YYMMDD&...]`) into the same checked form as a barcode's
 * element string. Path qualifiers out of order, unknown AIs and bad check digits are refused; query
 * parameters that are not numeric AIs (e.g. `linkType`) are ignored, as the standard says.
 */
export function parseGs1DigitalLink(uri: string, now: Date = new Date()): Gs1ElementString {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    refuse('dl-not-uri', 'a GS1 Digital Link is an absolute http(s) URI');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    refuse('dl-not-uri', 'a GS1 Digital Link is an absolute http(s) URI');
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const start = segments.findIndex((s, i) => QUALIFIERS[toAi(s)] !== undefined && i + 1 < segments.length);
  if (start === -1) refuse('dl-no-primary-key', 'the Digital Link names no primary key (01, 00 or 414)');
  const primary = toAi(segments[start] as string);
  const elements: Gs1Element[] = [];
  const path = segments.slice(start);
  if (path.length % 2 !== 0) refuse('dl-syntax', 'the Digital Link path has an AI without a value');
  let order = -1;
  for (let i = 0; i < path.length; i += 2) {
    const ai = toAi(path[i] as string);
    const value = decodeURIComponent(path[i + 1] as string);
    if (i > 0) {
      const position = (QUALIFIERS[primary] ?? []).indexOf(ai);
      if (position === -1)
        refuse('dl-qualifier', 'this AI is not a key qualifier of the primary key', { ai });
      if (position <= order)
        refuse('dl-qualifier-order', 'Digital Link key qualifiers are out of order', { ai });
      order = position;
    }
    elements.push({ ai, value: ai === '01' ? parseGtin(value) : value });
  }
  for (const [name, raw] of url.searchParams) {
    const ai = toAi(name);
    if (!/^[0-9]{2,4}$/.test(ai)) continue;
    if (applicationIdentifier(ai) === undefined)
      refuse('gs1-unknown-ai', 'unknown GS1 application identifier', { ai });
    elements.push({ ai, value: raw });
  }
  const humanReadable = elements.map((e) => `(${e.ai})${e.value}`).join('');
  return parseGs1ElementString(humanReadable, now);
}

/** The canonical Digital Link of a pack: GTIN, then lot and serial, with the expiry as a data attribute. */
export function formatGs1DigitalLink(pack: {
  readonly gtin: string;
  readonly lot?: string;
  readonly serial?: string;
  /** ISO date YYYY-MM-DD. */
  readonly expiry?: string;
}): string {
  let path = `${GS1_RESOLVER}/01/${parseGtin(pack.gtin)}`;
  if (pack.lot !== undefined) path += `/10/${encodeURIComponent(pack.lot)}`;
  if (pack.serial !== undefined) path += `/21/${encodeURIComponent(pack.serial)}`;
  if (pack.expiry !== undefined) {
    const match = /^\d{2}(\d{2})-(\d{2})-(\d{2})$/.exec(pack.expiry);
    if (match === null) refuse('gs1-date', 'an expiry is an ISO date YYYY-MM-DD');
    path += `?17=${match[1]}${match[2]}${match[3]}`;
  }
  return path;
}

/**
 * The instance identifier of one pack (SGTIN) as EPCIS 2.0 writes it: the Digital Link of GTIN and
 * serial only (EPCIS 2.0 §8.3, CBV 2.0 §8: Digital Link URIs as EPCs).
 */
export function formatSgtinUri(gtin: string, serial: string): string {
  return `${GS1_RESOLVER}/01/${parseGtin(gtin)}/21/${encodeURIComponent(serial)}`;
}
