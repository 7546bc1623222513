/**
 * Dates and times as people write them ("6 Dec 2026", "6 Dec 2026, 23:48"), never ISO. Pure functions
 * (no DOM), so the record summaries that use them run in Node's tests too.
 */

export function formatDateTime(value: string | undefined): string {
  if (value === undefined) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(value: string | undefined): string {
  if (value === undefined) return '';
  if (/^\d{4}(-\d{2})?$/.test(value)) return value;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString('en-GB', { dateStyle: 'medium' });
}
