/** The clinician's patient search: by name and date of birth, each result opening the chart. */
import { errorText, searchAll } from '../api.js';
import { announce, field, formatDate, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';

export interface Patient extends Resource {
  name?: { given?: string[]; family?: string; text?: string }[];
  birthDate?: string;
  gender?: string;
  identifier?: { system?: string; value?: string }[];
}

export const nameOf = (p: Patient) =>
  p.name?.[0]?.text ??
  ([p.name?.[0]?.given?.join(' '), p.name?.[0]?.family].filter(Boolean).join(' ') || 'Unnamed patient');

/** Patient.gender (FHIR administrative-gender) as a word, not the code. */
export function genderWords(gender: string | undefined): string {
  return gender === undefined ? '' : (GENDERS[gender] ?? gender);
}
const GENDERS: Record<string, string> = {
  female: 'Female',
  male: 'Male',
  other: 'Other',
  unknown: 'Unknown',
};

export async function renderPatientSearch(main: HTMLElement, query = ''): Promise<void> {
  const name = h('input', { type: 'search', id: 'search-name', autocomplete: 'off', value: query });
  const birth = h('input', { type: 'date', id: 'search-birthdate' });
  const results = h('div', { id: 'search-results', 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      role: 'search',
      class: 'card',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const params = new URLSearchParams({ _count: '50' });
        if (name.value.trim() !== '') params.set('name', name.value.trim());
        if (birth.value !== '') params.set('birthdate', birth.value);
        replace(results, h('p', { class: 'meta' }, 'Searching…'));
        try {
          const found = await searchAll<Patient>(`/fhir/Patient?${params.toString()}`, {}, 1);
          replace(
            results,
            found.length === 0
              ? message(
                  'info',
                  'No patient matches. Check the spelling, try part of the name, or search by date of birth.',
                )
              : h('p', {}, `${found.length} patient${found.length === 1 ? '' : 's'} found.`),
            found.length === 0
              ? null
              : h(
                  'div',
                  { class: 'table-wrap' },
                  h(
                    'table',
                    { class: 'stack' },
                    h('caption', {}, 'Patients'),
                    h(
                      'thead',
                      {},
                      h(
                        'tr',
                        {},
                        ['Name', 'Born', 'Gender', ''].map((x) => h('th', { scope: 'col' }, x)),
                      ),
                    ),
                    h(
                      'tbody',
                      {},
                      found.map((p) =>
                        h(
                          'tr',
                          {},
                          h('td', { 'data-label': 'Name' }, nameOf(p)),
                          h('td', { 'data-label': 'Born' }, formatDate(p.birthDate)),
                          h('td', { 'data-label': 'Gender' }, genderWords(p.gender)),
                          h(
                            'td',
                            { 'data-label': '' },
                            h(
                              'a',
                              {
                                href: `#/chart/${encodeURIComponent(p.id ?? '')}`,
                                'aria-label': `Open the chart of ${nameOf(p)}`,
                              },
                              'Open chart',
                            ),
                          ),
                        ),
                      ),
                    ),
                  ),
                ),
          );
          announce(found.length === 0 ? 'No patient matches.' : `${found.length} patients found.`);
        } catch (error) {
          replace(results, message('error', errorText(error)));
        }
      },
    },
    field('Name', name, 'Part of a given or family name.'),
    field('Date of birth', birth),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  replace(main, h('h1', { tabindex: '-1' }, 'Patients'), form, results);
}
