/**
 * Normalisation of EPC URIs and GS1 Digital Link URIs to the canonical GS1 Digital Link form
 * used by the EPCIS event hash (CBV 2.0 §8.9): the `https://id.gs1.org` domain, numeric AIs, a
 * GTIN padded to 14 digits, no query string. Written from the algorithm described by the
 * reference implementation RalphTro/epcis-event-hash-generator (dl_normaliser), not copied.
 */
import { computeGs1CheckDigit } from '../gs1/gs1-check-digit.js';

const CANONICAL = 'https://id.gs1.org';

/** Characters GS1 Digital Link (Table 7-1) wants percent-encoded that EPC URIs allow raw. */
function percentEncode(value: string): string {
  return value.replace(/[!()*+,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function withCheckDigit(digits: string): string {
  return `${digits}${computeGs1CheckDigit(digits)}`;
}

/** GTIN-14 from an EPC company prefix and an item reference whose first digit is the indicator. */
function gtinFrom(companyPrefix: string, itemReference: string): string {
  return withCheckDigit(`${itemReference.slice(0, 1)}${companyPrefix}${itemReference.slice(1)}`);
}

const EPC_CHAR = "(?:%[0-9A-Fa-f]{2}|[!')(*+,.0-9:;=A-Za-z_-])";

/** The capture groups of a rule's pattern (unused ones are empty). */
type Parts = [string, string, string, string];
type EpcRule = { pattern: RegExp; toPath: (parts: Parts) => string | undefined };

/** Each rule checks the combined prefix length (12 or 13 digits) before building the path. */
const EPC_RULES: EpcRule[] = [
  {
    pattern: new RegExp(`^urn:epc:id:sgtin:(\\d{6,12})\\.(\\d{1,7})\\.(${EPC_CHAR}{1,20})$`),
    toPath: ([cp, item, serial]) =>
      cp.length + item.length === 13 ? `/01/${gtinFrom(cp, item)}/21/${percentEncode(serial)}` : undefined,
  },
  {
    pattern: /^urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})$/,
    toPath: ([cp, serialRef]) =>
      cp.length + serialRef.length === 17
        ? `/00/${withCheckDigit(`${serialRef.slice(0, 1)}${cp}${serialRef.slice(1)}`)}`
        : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:id:sgln:(\\d{6,12})\\.(\\d{0,6})\\.(${EPC_CHAR}{1,20})$`),
    toPath: ([cp, loc, ext]) => {
      if (cp.length + loc.length !== 12) return undefined;
      const gln = `/414/${withCheckDigit(`${cp}${loc}`)}`;
      return ext === '0' ? gln : `${gln}/254/${percentEncode(ext)}`;
    },
  },
  {
    pattern: /^urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})$/,
    toPath: ([cp, party]) =>
      cp.length + party.length === 12 ? `/417/${withCheckDigit(`${cp}${party}`)}` : undefined,
  },
  {
    pattern: /^urn:epc:id:gsrn:(\d{6,12})\.(\d{5,11})$/,
    toPath: ([cp, ref]) =>
      cp.length + ref.length === 17 ? `/8018/${withCheckDigit(`${cp}${ref}`)}` : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:id:grai:(\\d{6,12})\\.(\\d{0,6})\\.(${EPC_CHAR}{1,16})$`),
    toPath: ([cp, asset, serial]) =>
      cp.length + asset.length === 12
        ? `/8003/${withCheckDigit(`0${cp}${asset}`)}${percentEncode(serial)}`
        : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:id:giai:(\\d{6,12})\\.(${EPC_CHAR}{1,24})$`),
    toPath: ([cp, asset]) =>
      cp.length + asset.length <= 30 ? `/8004/${cp}${percentEncode(asset)}` : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:id:gdti:(\\d{6,12})\\.(\\d{0,6})\\.(${EPC_CHAR}{0,17})$`),
    toPath: ([cp, doc, serial]) =>
      cp.length + doc.length === 12
        ? `/253/${withCheckDigit(`${cp}${doc}`)}${percentEncode(serial)}`
        : undefined,
  },
  {
    pattern: /^urn:epc:id:gsrnp:(\d{6,12})\.(\d{5,11})$/,
    toPath: ([cp, ref]) =>
      cp.length + ref.length === 17 ? `/8017/${withCheckDigit(`${cp}${ref}`)}` : undefined,
  },
  {
    pattern: /^urn:epc:id:gsin:(\d{6,12})\.(\d{4,10})$/,
    toPath: ([cp, ref]) =>
      cp.length + ref.length === 16 ? `/402/${withCheckDigit(`${cp}${ref}`)}` : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:id:ginc:(\\d{6,12})\\.(${EPC_CHAR}{1,24})$`),
    toPath: ([cp, ref]) => `/401/${cp}${percentEncode(ref)}`,
  },
  {
    pattern: new RegExp(
      `^urn:epc:id:itip:(\\d{6,12})\\.(\\d{1,7})\\.(\\d{2}\\.\\d{2})\\.(${EPC_CHAR}{1,20})$`,
    ),
    toPath: ([cp, item, pieces, serial]) =>
      cp.length + item.length === 13
        ? `/8006/${gtinFrom(cp, item)}${pieces.replace('.', '')}/21/${percentEncode(serial)}`
        : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:id:upui:(\\d{6,12})\\.(\\d{1,7})\\.(${EPC_CHAR}{1,28})$`),
    toPath: ([cp, item, serial]) =>
      cp.length + item.length === 13 ? `/01/${gtinFrom(cp, item)}/235/${percentEncode(serial)}` : undefined,
  },
  {
    pattern:
      /^urn:epc:id:cpi:(\d{6,12})\.((?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])+)\.(\d{1,12})$/,
    toPath: ([cp, ref, serial]) => `/8010/${percentEncode(`${cp}${ref}`)}/8011/${serial}`,
  },
  {
    pattern: /^urn:epc:id:sgcn:(\d{6,12})\.(\d{0,6})\.(\d{1,12})$/,
    toPath: ([cp, ref, serial]) =>
      cp.length + ref.length === 12 ? `/255/${withCheckDigit(`${cp}${ref}`)}${serial}` : undefined,
  },
  {
    pattern: new RegExp(`^urn:epc:class:lgtin:(\\d{6,12})\\.(\\d{1,7})\\.(${EPC_CHAR}{1,20})$`),
    toPath: ([cp, item, lot]) =>
      cp.length + item.length === 13 ? `/01/${gtinFrom(cp, item)}/10/${percentEncode(lot)}` : undefined,
  },
  {
    pattern: /^urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*$/,
    toPath: ([cp, item]) => (cp.length + item.length === 13 ? `/01/${gtinFrom(cp, item)}` : undefined),
  },
  {
    pattern: /^urn:epc:idpat:grai:(\d{6,12})\.(\d{0,6})\.\*$/,
    toPath: ([cp, asset]) =>
      cp.length + asset.length === 12 ? `/8003/${withCheckDigit(`0${cp}${asset}`)}` : undefined,
  },
  {
    pattern: /^urn:epc:idpat:gdti:(\d{6,12})\.(\d{0,6})\.\*$/,
    toPath: ([cp, doc]) =>
      cp.length + doc.length === 12 ? `/253/${withCheckDigit(`${cp}${doc}`)}` : undefined,
  },
  {
    pattern: /^urn:epc:idpat:sgcn:(\d{6,12})\.(\d{0,6})\.\*$/,
    toPath: ([cp, ref]) =>
      cp.length + ref.length === 12 ? `/255/${withCheckDigit(`${cp}${ref}`)}` : undefined,
  },
  {
    pattern: /^urn:epc:idpat:cpi:(\d{6,12})\.((?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])+)\.\*$/,
    toPath: ([cp, ref]) => `/8010/${percentEncode(`${cp}${ref}`)}`,
  },
  {
    pattern: /^urn:epc:idpat:itip:(\d{6,12})\.(\d{1,7})\.(\d{2})\.(\d{2})\.\*$/,
    toPath: ([cp, item, piece, total]) =>
      cp.length + item.length === 13 ? `/8006/${gtinFrom(cp, item)}${piece}${total}` : undefined,
  },
  {
    pattern: /^urn:epc:idpat:upui:(\d{6,12})\.(\d{1,7})\.\*$/,
    toPath: ([cp, item]) => (cp.length + item.length === 13 ? `/01/${gtinFrom(cp, item)}` : undefined),
  },
];

const DL_SHORT_NAMES: Record<string, string> = {
  gtin: '01',
  itip: '8006',
  cpid: '8010',
  gln: '414',
  party: '417',
  gsrnp: '8017',
  gsrn: '8018',
  gcn: '255',
  sscc: '00',
  gdti: '253',
  ginc: '401',
  gsin: '402',
  grai: '8003',
  giai: '8004',
  cpv: '22',
  lot: '10',
  ser: '21',
};

const PRIMARY_KEYS = [
  '00',
  '01',
  '253',
  '255',
  '401',
  '402',
  '414',
  '417',
  '8003',
  '8004',
  '8006',
  '8010',
  '8017',
  '8018',
];

function normaliseDigitalLink(uri: string): string | undefined {
  if (!/^https?:\/\//.test(uri)) return undefined;
  let path = uri.replace(/^https?:\/\/[^/]+/, '').split('?')[0] ?? '';
  path = path.replace(/\/([a-z]+)\//g, (whole, name: string) =>
    DL_SHORT_NAMES[name] ? `/${DL_SHORT_NAMES[name]}/` : whole,
  );
  const keyAt = PRIMARY_KEYS.map((ai) => path.indexOf(`/${ai}/`))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b)[0];
  if (keyAt === undefined) return undefined;
  path = path.slice(keyAt);
  const gtin = /^\/01\/(\d{8}|\d{12,14})(?=\/|$)/.exec(path);
  if (gtin?.[1]) path = `/01/${gtin[1].padStart(14, '0')}${path.slice(4 + gtin[1].length)}`;
  // The consumer product variant (AI 22) is not part of the identity of the item.
  path = path.replace(/\/22\/[^/]*/, '');
  return `${CANONICAL}${path}`;
}

/**
 * The canonical GS1 Digital Link URI for an EPC URI, EPC class URI, EPC pattern URI or GS1
 * Digital Link URI; undefined for anything else (which the hash then keeps as it is).
 */
export function epcToDigitalLink(uri: string): string | undefined {
  if (uri.startsWith('urn:epc:')) {
    for (const rule of EPC_RULES) {
      const m = rule.pattern.exec(uri);
      if (m) {
        const path = rule.toPath([m[1] ?? '', m[2] ?? '', m[3] ?? '', m[4] ?? '']);
        if (path) return `${CANONICAL}${path}`;
      }
    }
    return undefined;
  }
  return normaliseDigitalLink(uri);
}
