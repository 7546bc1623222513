/**
 * One record list instead of a page per type (issue 22): tabs by kind, a search box, a filter by the
 * member a record comes from, and pages of 20. The controls stay in the page while the list under them
 * is redrawn, so focus stays where the person was (a tab, the search box, a page button).
 */
import { formatDate, h, replace } from './dom.js';
import { type Resource, trendFigures } from './fhir-display.js';
import { FLAG_WORDS } from './quantity-format.js';
import { isEnteredInError } from './record-corrections.js';
import { filterRecords, pageOf, type RecordRow, TABS, type Tab } from './record-rows.js';

export const PAGE_SIZE = 20;

function flagBadge(row: RecordRow): HTMLElement | null {
  if (row.flag === undefined || row.flag === 'normal') return null;
  return h('span', { class: `badge flag flag-${row.flag}`, 'data-flag': row.flag }, FLAG_WORDS[row.flag]);
}

function rowView(row: RecordRow, actions?: (row: RecordRow) => HTMLElement | null): HTMLElement {
  const wrong = isEnteredInError(row.resource as Resource);
  return h(
    'tr',
    { 'data-tab': row.tab, 'data-key': row.key, class: wrong ? 'entered-in-error' : undefined },
    h(
      'td',
      { 'data-label': 'Date', class: row.date === '' ? 'no-value' : undefined },
      row.date === '' ? '—' : formatDate(row.date),
    ),
    h(
      'td',
      { 'data-label': 'Record' },
      h('span', { class: 'record-title' }, row.title),
      // A record marked entered in error stays in the list, flagged, so nobody acts on it unawares.
      wrong ? [' ', h('span', { class: 'badge badge-bad' }, 'entered in error')] : null,
    ),
    h(
      'td',
      { 'data-label': 'Result' },
      row.result === '' ? row.details : [h('span', { class: 'result' }, row.result), ' ', flagBadge(row)],
      row.result !== '' && row.details !== '' ? h('span', { class: 'meta' }, ` ${row.details}`) : null,
    ),
    // On a phone's cards a diagnosis or a prescription reads better without "Normal range: —".
    h(
      'td',
      { 'data-label': 'Normal range', class: row.range === '' ? 'no-value' : undefined },
      row.range === '' ? '—' : row.range,
    ),
    h(
      'td',
      { 'data-label': 'From' },
      row.from,
      row.verification === ''
        ? null
        : h(
            'span',
            { class: `badge ${row.verification === 'verified' ? 'badge-ok' : 'badge-bad'}` },
            row.verification,
          ),
    ),
    actions === undefined ? null : h('td', { 'data-label': 'Actions' }, actions(row)),
  );
}

/** The list with its controls; `rows` may be replaced later with `update` (records from other members). */
export function recordList(
  initial: readonly RecordRow[],
  words: {
    caption: string;
    search: string;
    /** A control per row (the clinician's "Correct"), in a last column. */
    actions?: (row: RecordRow) => HTMLElement | null;
  } = { caption: 'Your records', search: 'Search your records' },
): {
  element: HTMLElement;
  update: (rows: readonly RecordRow[]) => void;
} {
  let rows = initial;
  let tab: Tab | 'all' = 'all';
  let page = 1;
  const search = h('input', { type: 'search', id: 'record-search', autocomplete: 'off' });
  const from = h('select', { id: 'record-from' });
  const tablist = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Kinds of record' });
  const status = h('p', { class: 'meta', id: 'record-count', role: 'status' });
  const body = h('div', { id: 'record-list-body' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of records' });

  const draw = (focusAfter?: string) => {
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.tab, (counts.get(row.tab) ?? 0) + 1);
    const tabs: (readonly [Tab | 'all', string])[] = [['all', 'All'], ...TABS.filter(([t]) => counts.has(t))];
    if (!tabs.some(([t]) => t === tab)) tab = 'all';
    replace(
      tablist,
      tabs.map(([t, label]) =>
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            id: `tab-${t}`,
            'aria-selected': t === tab ? 'true' : 'false',
            'aria-controls': 'record-list-body',
            tabindex: t === tab ? '0' : '-1',
            onclick: () => {
              tab = t;
              page = 1;
              draw(`tab-${t}`);
            },
          },
          `${label} (${t === 'all' ? rows.length : (counts.get(t) ?? 0)})`,
        ),
      ),
    );
    const members = [...new Set(rows.map((r) => r.from))].sort();
    const chosen = from.value;
    replace(
      from,
      h('option', { value: '' }, 'Every member'),
      members.map((m) => h('option', { value: m, selected: m === chosen }, m)),
    );
    const shown = filterRecords(rows, { tab, from: from.value, text: search.value });
    const current = pageOf(shown, page, PAGE_SIZE);
    page = current.page;
    const first = shown.length === 0 ? 0 : (current.page - 1) * PAGE_SIZE + 1;
    status.textContent =
      shown.length === 0
        ? 'No records match.'
        : `Showing ${first}–${first + current.items.length - 1} of ${shown.length} record${shown.length === 1 ? '' : 's'}.`;
    replace(
      body,
      shown.length === 0
        ? null
        : h(
            'table',
            { class: 'stack', id: 'records-table' },
            h('caption', { class: 'visually-hidden' }, words.caption),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                [
                  'Date',
                  'Record',
                  'Result',
                  'Normal range',
                  'From',
                  ...(words.actions === undefined ? [] : ['Actions']),
                ].map((x) => h('th', { scope: 'col' }, x)),
              ),
            ),
            h(
              'tbody',
              {},
              current.items.map((row) => rowView(row, words.actions)),
            ),
          ),
      // Trends of the results in view (a chart per test with two or more values).
      tab === 'results' || tab === 'vitals' || tab === 'history'
        ? trendFigures(
            shown.map((row) => row.resource as Resource).filter((r) => r.resourceType === 'Observation'),
          )
        : null,
    );
    const go = (to: number, id: string) => () => {
      page = to;
      draw(id);
    };
    replace(
      pager,
      current.pages <= 1
        ? null
        : [
            h(
              'button',
              {
                type: 'button',
                id: 'page-prev',
                disabled: current.page === 1,
                onclick: go(current.page - 1, 'page-prev'),
              },
              'Previous',
            ),
            h('span', { class: 'meta' }, ` Page ${current.page} of ${current.pages} `),
            h(
              'button',
              {
                type: 'button',
                id: 'page-next',
                disabled: current.page === current.pages,
                onclick: go(current.page + 1, 'page-next'),
              },
              'Next',
            ),
          ],
    );
    if (focusAfter !== undefined) {
      const target = document.getElementById(focusAfter) as HTMLButtonElement | null;
      // A page button at the end is disabled: focus the other one rather than lose it.
      if (target?.disabled === true)
        document.getElementById(focusAfter === 'page-next' ? 'page-prev' : 'page-next')?.focus();
      else target?.focus();
    }
  };
  // Arrow keys move between tabs (WAI-ARIA APG, tabs with manual activation).
  tablist.addEventListener('keydown', (event) => {
    const key = (event as KeyboardEvent).key;
    if (key !== 'ArrowRight' && key !== 'ArrowLeft') return;
    const buttons = [...tablist.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    buttons[(at + (key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length]?.focus();
  });
  search.addEventListener('input', () => {
    page = 1;
    draw();
  });
  from.addEventListener('change', () => {
    page = 1;
    draw();
  });
  const searchId = search.id;
  const element = h(
    'section',
    { 'aria-label': words.caption, id: 'record-list' },
    tablist,
    h(
      'div',
      { class: 'filters' },
      h('div', { class: 'field' }, h('label', { for: searchId }, words.search), search),
      h('div', { class: 'field' }, h('label', { for: 'record-from' }, 'From'), from),
    ),
    status,
    body,
    pager,
  );
  draw();
  return {
    element,
    update: (next) => {
      rows = next;
      draw();
    },
  };
}
