import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { categorizeResource } from '../access/categorize-resource.js';
import { OBSERVATION_CATEGORY_COVER } from '../access/observation-categories.js';
import { ALL_DATA_CATEGORIES } from '../ledger/codes.js';
import { CATEGORY_TABS, categoryHint } from './app/category-words.js';
import { TABS, tabOf } from './app/record-rows.js';

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const observation = (code?: string) =>
  ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    ...(code === undefined ? {} : { category: [{ coding: [{ system: OBSERVATION_CATEGORY, code }] }] }),
  }) as Resource;

describe('the grant form and the record list say the same (decision 0049)', () => {
  const samples: Resource[] = [
    ...[undefined, ...Object.keys(OBSERVATION_CATEGORY_COVER)].map(observation),
    ...[
      'DiagnosticReport',
      'MedicationRequest',
      'MedicationStatement',
      'Condition',
      'AllergyIntolerance',
      'Immunization',
      'Encounter',
      'Procedure',
      'DocumentReference',
      'Composition',
      'CarePlan',
      'Goal',
      'CareTeam',
      'ExplanationOfBenefit',
      'Claim',
    ].map((resourceType) => ({ resourceType }) as Resource),
  ];

  it.each(
    samples.map((r) => [
      JSON.stringify(
        r.resourceType === 'Observation'
          ? ((r as { category?: unknown }).category ?? 'no category')
          : r.resourceType,
      ),
      r,
    ]),
  )('%s sits in a tab that the category the node asks for names', (_, resource) => {
    const tab = tabOf(resource as never);
    const covering = categorizeResource(resource).flatMap((c) => CATEGORY_TABS[c]);
    expect(covering).toContain(tab);
  });

  it('puts smoking status under "History and exams", which "Clinical notes and documents" says it shares', () => {
    expect(tabOf(observation('social-history') as never)).toBe('history');
    expect(categoryHint('clinical-notes')).toContain('“History and exams”');
    expect(categoryHint('clinical-notes')).toContain('smoking');
    expect(categoryHint('laboratory')).toContain('“Test results”');
    expect(categoryHint('laboratory')).not.toContain('History and exams');
  });

  it('has a line for every category and names only real tabs', () => {
    const tabs = new Set<string>(TABS.map(([t]) => t));
    for (const category of ALL_DATA_CATEGORIES) {
      expect(categoryHint(category), category).not.toBe('');
      for (const tab of CATEGORY_TABS[category]) expect(tabs.has(tab), `${category} → ${tab}`).toBe(true);
    }
  });
});
