import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { DATA_CATEGORIES } from '../ledger/codes.js';
import { categorizeResource } from './categorize-resource.js';
import { OBSERVATION_CATEGORY_COVER, OBSERVATION_DATA_CATEGORIES } from './observation-categories.js';

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

function observation(...codes: string[]): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    ...(codes.length === 0
      ? {}
      : { category: codes.map((code) => ({ coding: [{ system: OBSERVATION_CATEGORY, code }] })) }),
  };
}

describe('Observation categories (decision 0049)', () => {
  it.each([
    ['vital-signs', 'vital-signs'],
    ['laboratory', 'laboratory'],
    ['imaging', 'imaging'],
    ['procedure', 'procedures'],
    ['therapy', 'procedures'],
    ['social-history', 'clinical-notes'],
    ['survey', 'clinical-notes'],
    ['exam', 'clinical-notes'],
    ['activity', 'clinical-notes'],
  ])('an Observation of category %s needs a grant of %s', (code, category) => {
    expect(categorizeResource(observation(code))).toEqual([category]);
  });

  it('does not let smoking status ride on a "Laboratory results" grant', () => {
    // US Core smoking status: LOINC 72166-2, category social-history.
    const smoking = {
      ...observation('social-history'),
      code: { coding: [{ system: 'http://loinc.org', code: '72166-2' }] },
    };
    expect(categorizeResource(smoking)).not.toContain('laboratory');
  });

  it('keeps an Observation without a recognised category a laboratory result, as grants signed before read it', () => {
    expect(categorizeResource(observation())).toEqual(['laboratory']);
    expect(categorizeResource(observation('local-code'))).toEqual(['laboratory']);
  });

  it('asks for every category an Observation carries, and still adds sensitivity labels', () => {
    expect(categorizeResource(observation('laboratory', 'social-history')).sort()).toEqual([
      'clinical-notes',
      'laboratory',
    ]);
    const labelled = {
      ...observation('survey'),
      meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] },
    };
    expect(categorizeResource(labelled).sort()).toEqual(['clinical-notes', 'mental-health']);
  });

  it('names only ledger categories, and lists each once for search bounds', () => {
    for (const category of Object.values(OBSERVATION_CATEGORY_COVER))
      expect(DATA_CATEGORIES).toHaveProperty(category);
    expect(OBSERVATION_DATA_CATEGORIES).toEqual([
      'vital-signs',
      'laboratory',
      'imaging',
      'procedures',
      'clinical-notes',
    ]);
  });
});
