/**
 * The GS1 Application Identifiers CareLedger reads from pharmaceutical and device packs and logistic
 * units, with their formats (GS1 General Specifications §3.2, Figure 3.2-1) and whether their length
 * is predefined, so no FNC1 separator follows them in an element string (Figure 7.8.5-2).
 *
 * AIs are prefix-free: no AI is the first digits of another, which is what lets a parser read an
 * element string left to right (§7.8.5).
 */
export type Gs1AiKind = 'gtin' | 'sscc' | 'gln' | 'date' | 'numeric' | 'text';

export interface Gs1ApplicationIdentifier {
  readonly ai: string;
  readonly title: string;
  readonly kind: Gs1AiKind;
  /** Data length when the AI's length is fixed. */
  readonly fixedLength?: number;
  /** Maximum data length for variable-length AIs. */
  readonly maxLength: number;
  /** Predefined length (Figure 7.8.5-2): no FNC1 needed after the data. */
  readonly predefined: boolean;
}

const fixed = (ai: string, title: string, kind: Gs1AiKind, length: number, predefined: boolean) =>
  ({ ai, title, kind, fixedLength: length, maxLength: length, predefined }) as const;
const variable = (ai: string, title: string, kind: Gs1AiKind, maxLength: number) =>
  ({ ai, title, kind, maxLength, predefined: false }) as const;

const TABLE: readonly Gs1ApplicationIdentifier[] = [
  fixed('00', 'SSCC', 'sscc', 18, true),
  fixed('01', 'GTIN', 'gtin', 14, true),
  fixed('02', 'CONTENT', 'gtin', 14, true),
  variable('10', 'BATCH/LOT', 'text', 20),
  fixed('11', 'PROD DATE', 'date', 6, true),
  fixed('13', 'PACK DATE', 'date', 6, true),
  fixed('15', 'BEST BEFORE or BEST BY', 'date', 6, true),
  fixed('16', 'SELL BY', 'date', 6, true),
  fixed('17', 'USE BY or EXPIRY', 'date', 6, true),
  fixed('20', 'VARIANT', 'numeric', 2, true),
  variable('21', 'SERIAL', 'text', 20),
  variable('22', 'CPV', 'text', 20),
  variable('30', 'VAR. COUNT', 'numeric', 8),
  variable('37', 'COUNT', 'numeric', 8),
  variable('240', 'ADDITIONAL ID', 'text', 30),
  variable('241', 'CUST. PART No.', 'text', 30),
  variable('250', 'SECONDARY SERIAL', 'text', 30),
  variable('400', 'ORDER NUMBER', 'text', 30),
  fixed('410', 'SHIP TO LOC', 'gln', 13, true),
  fixed('414', 'LOC No.', 'gln', 13, true),
  fixed('416', 'GLN PROD/SERV LOC', 'gln', 13, true),
  fixed('7003', 'EXPIRY TIME', 'numeric', 10, false),
];

const BY_AI = new Map(TABLE.map((entry) => [entry.ai, entry]));

/** The AI at the start of `digits` (2, 3 or 4 digits long), if CareLedger knows it. */
export function findApplicationIdentifier(digits: string): Gs1ApplicationIdentifier | undefined {
  for (const length of [2, 3, 4]) {
    const entry = BY_AI.get(digits.slice(0, length));
    if (entry !== undefined) return entry;
  }
  return undefined;
}

export function applicationIdentifier(ai: string): Gs1ApplicationIdentifier | undefined {
  return BY_AI.get(ai);
}

/** GS1 AI encodable character set 82 (General Specifications Figure 7.11-1). */
export const CHARACTER_SET_82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$/;
