import { expect, it } from 'vitest';
import * as research from './index.js';

it('pins the public face of the research module', () => {
  expect(Object.keys(research).sort()).toEqual([
    'AGE_GROUP_EXTENSION_URL',
    'DEID_METHODS',
    'GENERAL_RESEARCH_ADDRESS',
    'MIN_STUDY_KEY_BYTES',
    'NODE_TYPES',
    'PSEUDONYM_IDENTIFIER_SYSTEM',
    'SAFE_HARBOR_IDENTIFIERS',
    'SAFE_HARBOR_PROFILE',
    'SAFE_HARBOR_PROFILE_JSON',
    'SAFE_HARBOR_RESTRICTED_ZIP3',
    'checkKAnonymity',
    'createQuasiIdentifiedRecord',
    'createResourcePseudonym',
    'deidentifyResource',
    'derivePatientShiftDays',
    'evaluateDeidRule',
    'generalizePostalCode',
    'parseDeidProfile',
    'studyGrantee',
    'verifySafeHarborCoverage',
  ]);
});
