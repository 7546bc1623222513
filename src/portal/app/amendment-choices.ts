/**
 * The records a patient may ask to amend (45 CFR 164.526), as choices a person can tell apart (issue
 * 22, "Make it readable"): grouped by the record list's tabs, newest first, each with what it is, its
 * result and its date in words ("Body Weight, 79.4 kg, 22 Feb 2021"), not "Body Weight (final)" fifteen
 * times. Pure functions (no DOM).
 */
import { recordRow, TABS } from './record-rows.js';

type Res = Record<string, unknown> & { resourceType: string; id: string };

export interface AmendmentChoice {
  /** `Type/id`, what the request's Task.focus names. */
  readonly value: string;
  readonly label: string;
}

export interface AmendmentGroup {
  readonly label: string;
  readonly choices: readonly AmendmentChoice[];
}

/** "22 Feb 2021" for a date or date-time; a bare year or year-month as given. */
function dateWords(value: string): string {
  if (value === '' || /^\d{4}(-\d{2})?$/.test(value)) return value;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });
}

/** One choice's words: what it is, its result, its date; '' parts left out. */
export function amendmentLabel(r: Res): string {
  const row = recordRow({ resource: r, servedBy: '' });
  if (row === undefined) return r.resourceType;
  return [row.title, row.result, dateWords(row.date.slice(0, 10))].filter((x) => x !== '').join(', ');
}

/** The choices, grouped in the record list's tab order, newest first within a group. */
export function amendmentGroups(records: readonly Res[]): AmendmentGroup[] {
  const rows = records
    .map((r) => ({ r, row: recordRow({ resource: r, servedBy: '' }) }))
    .filter((x) => x.row !== undefined);
  return TABS.map(([tab, label]) => ({
    label,
    choices: rows
      .filter((x) => x.row?.tab === tab)
      .sort((a, b) => (b.row?.date ?? '').localeCompare(a.row?.date ?? ''))
      .map(({ r }) => ({ value: `${r.resourceType}/${r.id}`, label: amendmentLabel(r) })),
  })).filter((g) => g.choices.length > 0);
}
