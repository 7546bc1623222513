/**
 * What each sharing category covers, in the words of the record list (decision 0049): the grant form
 * and the telehealth share form say under each box which tabs of "Your records" it shares, so a
 * patient who grants "Laboratory results" knows smoking status (under "History and exams") is not in
 * it. Derived from the same tab table the record list uses; a test checks both against the node's
 * categorizeResource. Pure functions (no DOM).
 */
import type { DataCategory } from '../../ledger/codes.js';
import { TABS, type Tab } from './record-rows.js';

/** The record-list tabs whose records a grant of the category shares. */
export const CATEGORY_TABS: Readonly<Record<DataCategory, readonly Tab[]>> = {
  demographics: [],
  conditions: ['conditions'],
  medications: ['medications'],
  allergies: ['allergies'],
  immunizations: ['immunizations'],
  laboratory: ['results'],
  'vital-signs': ['vitals'],
  procedures: ['visits'],
  encounters: ['visits'],
  'clinical-notes': ['documents', 'history'],
  'care-plans': ['care-plans'],
  imaging: ['results'],
  'mental-health': [],
  'substance-use': [],
  hiv: [],
  genetic: [],
  'sexual-reproductive': [],
  financial: ['claims'],
};

const OWN_WORDS: Partial<Record<DataCategory, string>> = {
  demographics: 'Your name, birth date, address and contact details.',
  laboratory: 'Lab tests and their reports, not your history or questionnaires.',
  imaging: 'Scans and X-rays and their reports.',
  procedures: 'Operations, therapies and the measurements taken during them.',
  encounters: 'Your visits and stays.',
  'clinical-notes':
    'Notes and letters, and your history (such as smoking), questionnaires and exam findings.',
  'mental-health': 'Any record labelled mental health, whatever its kind. Needed as well as its kind.',
  'substance-use': 'Any record labelled substance use, whatever its kind. Needed as well as its kind.',
  hiv: 'Any record labelled HIV/AIDS, whatever its kind. Needed as well as its kind.',
  genetic: 'Any record labelled genetic, whatever its kind. Needed as well as its kind.',
  'sexual-reproductive':
    'Any record labelled sexual or reproductive health, whatever its kind. Needed as well as its kind.',
};

/** One line under a category's box: what it covers, and where those records are in "Your records". */
export function categoryHint(category: DataCategory): string {
  const tabs = CATEGORY_TABS[category].map((tab) => `“${TABS.find(([t]) => t === tab)?.[1] ?? tab}”`);
  const where = tabs.length === 0 ? '' : `In your records: ${tabs.join(' and ')}.`;
  return [OWN_WORDS[category] ?? '', where].filter((x) => x !== '').join(' ');
}
