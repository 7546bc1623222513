/**
 * Which consent category covers an Observation, from its `category` (decision 0049). Pure and free of
 * Node imports: the portal's record views and grant form use the same table as the access policy, so
 * what the patient reads on the form is what the node enforces.
 */
import type { DataCategory } from '../ledger/codes.js';

/**
 * R4 observation-category codes (http://terminology.hl7.org/CodeSystem/observation-category) → the
 * ledger category a grant must name. Social history (smoking, alcohol, occupation), surveys
 * (questionnaire scores), exam findings and activity are what a clinician writes in a history and
 * physical note, recorded as discrete data: "Clinical notes and documents", never "Laboratory results".
 */
export const OBSERVATION_CATEGORY_COVER: Readonly<Record<string, DataCategory>> = {
  'vital-signs': 'vital-signs',
  laboratory: 'laboratory',
  imaging: 'imaging',
  procedure: 'procedures',
  therapy: 'procedures',
  'social-history': 'clinical-notes',
  survey: 'clinical-notes',
  exam: 'clinical-notes',
  activity: 'clinical-notes',
};

/** Every category an Observation may fall in by its `category` (search bounds ask each of them). */
export const OBSERVATION_DATA_CATEGORIES: readonly DataCategory[] = [
  ...new Set(Object.values(OBSERVATION_CATEGORY_COVER)),
];

/**
 * The ledger categories of an Observation with these category codes: one per recognised code (a
 * consent must cover each). An Observation with no recognised code keeps the meaning it always had,
 * "Laboratory results", so grants signed before decision 0049 still cover the results they covered.
 */
export function observationDataCategories(codes: readonly string[]): DataCategory[] {
  const categories = new Set<DataCategory>();
  for (const code of codes) {
    if (Object.hasOwn(OBSERVATION_CATEGORY_COVER, code))
      categories.add(OBSERVATION_CATEGORY_COVER[code] as DataCategory);
  }
  if (categories.size === 0) categories.add('laboratory');
  return [...categories];
}
