/** The FHIR R4 resource shape the portal's views share, and the trend charts of numeric results. */

import { trendChart } from './chart.js';
import { h } from './dom.js';
import { formatQuantity, unitText } from './quantity-format.js';
import { clinicalDate } from './record-summary.js';

export type Resource = Record<string, unknown> & {
  resourceType: string;
  id?: string;
  meta?: {
    lastUpdated?: string;
    source?: string;
    tag?: { system?: string; code?: string; display?: string }[];
  };
};
interface CodeableConcept {
  text?: string;
  coding?: { system?: string; code?: string; display?: string }[];
}
interface Quantity {
  value?: number;
  unit?: string;
  code?: string;
  comparator?: string;
}

export const LOINC = 'http://loinc.org';

export function conceptText(c: CodeableConcept | undefined): string {
  if (c === undefined) return '';
  return c.text ?? c.coding?.find((x) => x.display)?.display ?? c.coding?.[0]?.code ?? '';
}

/** A value at its meaningful precision, with its unit as people write it (quantity-format.ts). */
export function quantityText(q: Quantity | undefined): string {
  return formatQuantity(q);
}

/** When the record happened (not when this member stored it: meta.lastUpdated is never shown as it). */
function effective(r: Resource): string | undefined {
  return clinicalDate(r);
}

/** One trend chart per LOINC code with two or more numeric values. */
export function trendFigures(observations: readonly Resource[]): HTMLElement[] {
  const charts: HTMLElement[] = [];
  const byCode = new Map<string, { label: string; unit: string; points: { at: string; value: number }[] }>();
  for (const o of observations) {
    const coding = (o.code as CodeableConcept | undefined)?.coding?.find((c) => c.system === LOINC);
    const q = o.valueQuantity as Quantity | undefined;
    const at = effective(o);
    if (coding?.code === undefined || typeof q?.value !== 'number' || at === undefined) continue;
    const entry = byCode.get(coding.code) ?? {
      label: conceptText(o.code as CodeableConcept),
      unit: unitText(q.code ?? q.unit),
      points: [],
    };
    entry.points.push({ at, value: q.value });
    byCode.set(coding.code, entry);
  }
  for (const [code, series] of byCode) {
    if (series.points.length < 2) continue;
    charts.push(
      h(
        'figure',
        { class: 'trend' },
        trendChart(series.points, `${series.label} (LOINC ${code})`, series.unit),
        h(
          'figcaption',
          { class: 'meta' },
          `${series.label} (LOINC ${code}), ${series.points.length} results`,
        ),
      ),
    );
  }
  return charts;
}
