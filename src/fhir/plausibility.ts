/**
 * Values a living person can have, per LOINC code in its usual UCUM unit (issue 22 item 2): wide
 * enough for every real patient (a neonate's heart rate, hypothermia, a newborn's weight), narrow
 * enough to catch a sign or decimal-point slip (−5000/min, 370 °C). Pure (no imports): the node
 * refuses such an Observation on create, and the portal's form says so beside the field first.
 */
export const PLAUSIBLE_RANGES: Readonly<Record<string, { low: number; high: number; unit: string }>> = {
  '8867-4': { low: 20, high: 300, unit: '/min' },
  '8480-6': { low: 40, high: 300, unit: 'mm[Hg]' },
  '8462-4': { low: 20, high: 200, unit: 'mm[Hg]' },
  '8310-5': { low: 25, high: 45, unit: 'Cel' },
  '29463-7': { low: 0.2, high: 650, unit: 'kg' },
  '8302-2': { low: 20, high: 280, unit: 'cm' },
  '59408-5': { low: 30, high: 100, unit: '%' },
  '2345-7': { low: 5, high: 3000, unit: 'mg/dL' },
  '4548-4': { low: 2, high: 25, unit: '%' },
  '2160-0': { low: 0.05, high: 40, unit: 'mg/dL' },
  '718-7': { low: 1, high: 30, unit: 'g/dL' },
};

export interface PlausibilityIssue {
  readonly expression: string;
  /** Names the code and the range, never the value (which may be PHI). */
  readonly diagnostics: string;
}

interface Quantity {
  value?: unknown;
  code?: unknown;
  system?: unknown;
}
interface Coded {
  code?: { coding?: { system?: unknown; code?: unknown }[] };
  valueQuantity?: Quantity;
}

function check(item: Coded, expression: string): PlausibilityIssue[] {
  const loinc = item.code?.coding?.find((c) => c.system === 'http://loinc.org')?.code;
  const range = typeof loinc === 'string' ? PLAUSIBLE_RANGES[loinc] : undefined;
  const q = item.valueQuantity;
  // Only a value in the range's own UCUM unit is judged: another unit (°F, lb) is not converted here.
  if (range === undefined || typeof q?.value !== 'number' || q.code !== range.unit) return [];
  if (q.value >= range.low && q.value <= range.high) return [];
  return [
    {
      expression,
      diagnostics: `The value is not one a person can have for LOINC ${loinc}: it must be between ${range.low} and ${range.high} ${range.unit}`,
    },
  ];
}

/** An Observation's (and its components') quantities outside {@link PLAUSIBLE_RANGES}; [] otherwise. */
export function implausibleValues(resource: Record<string, unknown>): PlausibilityIssue[] {
  if (resource.resourceType !== 'Observation') return [];
  const components = Array.isArray(resource.component) ? (resource.component as Coded[]) : [];
  return [
    ...check(resource as Coded, 'Observation.value'),
    ...components.flatMap((c, i) => check(c, `Observation.component[${i}].value`)),
  ];
}
