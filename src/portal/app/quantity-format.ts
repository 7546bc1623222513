/**
 * Results as people write them (issue 22, "Make it readable"): values rounded to the precision that
 * means something ("162.4 cm", not "162.4453053111811 cm"), UCUM units in their written form ("mmHg",
 * "°C", "×10³/µL"), annotations such as `{score}` dropped, reference ranges as "70–99 mg/dL", and a
 * high or low flag from `interpretation` (HL7 v3 ObservationInterpretation) or, failing that, from the
 * range. Pure functions (no DOM).
 */

export interface Quantity {
  value?: number;
  unit?: string;
  code?: string;
  system?: string;
  comparator?: string;
}

export interface ReferenceRange {
  low?: Quantity;
  high?: Quantity;
  text?: string;
}

interface Concept {
  text?: string;
  coding?: { system?: string; code?: string; display?: string }[];
}

/** UCUM codes whose written form differs (UCUM §4; what a lab report prints). */
const UNIT_WORDS: Record<string, string> = {
  'mm[Hg]': 'mmHg',
  Cel: '°C',
  '[degF]': '°F',
  '/min': '/min',
  '{beats}/min': 'beats/min',
  '{breaths}/min': 'breaths/min',
  'kg/m2': 'kg/m²',
  m2: 'm²',
  ug: 'µg',
  'ug/L': 'µg/L',
  'ug/dL': 'µg/dL',
  'umol/L': 'µmol/L',
  uL: 'µL',
  'u[IU]/mL': 'µIU/mL',
  '[IU]/L': 'IU/L',
  'U/L': 'U/L',
  '10*3/uL': '×10³/µL',
  '10*6/uL': '×10⁶/µL',
  '10*9/L': '×10⁹/L',
  '10*12/L': '×10¹²/L',
  '[lb_av]': 'lb',
  '[in_i]': 'in',
  '[ft_i]': 'ft',
  '[oz_av]': 'oz',
  'mL/min/{1.73_m2}': 'mL/min/1.73 m²',
  'mL/min/1.73m2': 'mL/min/1.73 m²',
  '1': '',
};

/** Decimals people use for a unit (vital signs by their UCUM code); others get three significant digits. */
const DECIMALS: Record<string, number> = {
  'mm[Hg]': 0,
  '/min': 0,
  '{beats}/min': 0,
  '{breaths}/min': 0,
  cm: 1,
  kg: 1,
  g: 0,
  Cel: 1,
  '[degF]': 1,
  'kg/m2': 1,
  '[lb_av]': 1,
  '%': 1,
  // Scores (pain 0-10, PHQ-9, GAD-7) are read in whole points; an average keeps one decimal.
  '{score}': 1,
};

/** A UCUM unit as people write it: the table above, else the code without `{annotations}` and `[brackets]`. */
export function unitText(unit: string | undefined): string {
  if (unit === undefined) return '';
  const known = UNIT_WORDS[unit];
  if (known !== undefined) return known;
  return unit
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[([^\]]*)\]/g, '$1')
    .replace(/^\/$/, '')
    .trim();
}

/** Rounds to the unit's usual decimals, else to three significant digits (never more than 2 decimals for ≥ 1). */
export function roundValue(value: number, unitCode?: string): string {
  if (!Number.isFinite(value)) return String(value);
  const fixed = unitCode === undefined ? undefined : DECIMALS[unitCode];
  let decimals: number;
  if (fixed !== undefined) decimals = fixed;
  else if (value === 0) decimals = 0;
  else {
    const magnitude = Math.floor(Math.log10(Math.abs(value)));
    decimals = Math.min(Math.max(2 - magnitude, 0), Math.abs(value) >= 1 ? 2 : 4);
  }
  const rounded = value.toFixed(decimals);
  // 5.40 → 5.4, 120.0 → 120: trailing zeros after rounding say nothing here.
  return rounded.includes('.') ? rounded.replace(/\.?0+$/, '') : rounded;
}

/** "162.4 cm", "<5 mg/L", "2.3" (a score has no unit). */
export function formatQuantity(q: Quantity | undefined): string {
  if (q?.value === undefined) return '';
  const code = q.code ?? q.unit;
  const unit = (q.code === undefined ? undefined : UNIT_WORDS[q.code]) ?? unitText(q.unit ?? q.code);
  const value = roundValue(q.value, code);
  const comparator = (q.comparator ?? '').replace('<=', '≤').replace('>=', '≥');
  if (unit === '') return `${comparator}${value}`;
  const glued = unit === '%' || unit.startsWith('°') || unit.startsWith('/');
  return `${comparator}${value}${glued ? '' : ' '}${unit}`;
}

/** "70–99 mg/dL", "below 5 mg/L", "above 40 mg/dL", or the range's text. */
export function formatRange(range: ReferenceRange | undefined): string {
  if (range === undefined) return '';
  if (range.text !== undefined && range.low === undefined && range.high === undefined) return range.text;
  const low = range.low?.value;
  const high = range.high?.value;
  const unit = formatQuantity({ ...(range.high ?? range.low), value: 1 }).replace(/^1 ?/, '');
  const code = range.high?.code ?? range.low?.code;
  const join = (text: string) => (unit === '' ? text : `${text}${unit.startsWith('%') ? '' : ' '}${unit}`);
  if (low !== undefined && high !== undefined)
    return join(`${roundValue(low, code)}–${roundValue(high, code)}`);
  if (high !== undefined) return join(`below ${roundValue(high, code)}`);
  if (low !== undefined) return join(`above ${roundValue(low, code)}`);
  return range.text ?? '';
}

export type Flag = 'high' | 'low' | 'critical-high' | 'critical-low' | 'abnormal' | 'normal';

/** HL7 v3 ObservationInterpretation codes (terminology.hl7.org/CodeSystem/v3-ObservationInterpretation). */
const INTERPRETATIONS: Record<string, Flag> = {
  H: 'high',
  HU: 'high',
  HH: 'critical-high',
  L: 'low',
  LU: 'low',
  LL: 'critical-low',
  A: 'abnormal',
  AA: 'abnormal',
  N: 'normal',
};

export const FLAG_WORDS: Record<Flag, string> = {
  high: 'High',
  low: 'Low',
  'critical-high': 'Critically high',
  'critical-low': 'Critically low',
  abnormal: 'Abnormal',
  normal: 'Normal',
};

/** The result's flag: its interpretation code, else where the value falls against the first range. */
export function resultFlag(
  value: Quantity | undefined,
  interpretation: readonly Concept[] | undefined,
  ranges: readonly ReferenceRange[] | undefined,
): Flag | undefined {
  for (const concept of interpretation ?? []) {
    for (const coding of concept.coding ?? []) {
      const flag = INTERPRETATIONS[coding.code ?? ''];
      if (flag !== undefined) return flag;
    }
  }
  const v = value?.value;
  const range = ranges?.[0];
  if (v === undefined || range === undefined) return undefined;
  if (range.high?.value !== undefined && v > range.high.value) return 'high';
  if (range.low?.value !== undefined && v < range.low.value) return 'low';
  if (range.high?.value !== undefined || range.low?.value !== undefined) return 'normal';
  return undefined;
}
