import { expect, it } from 'vitest';
import * as fhir from '../../src/fhir/index.js';

it('pins the public face of src/fhir', () => {
  expect(Object.keys(fhir).sort()).toEqual([
    'BUILT_IN_PROFILE_PACKAGES',
    'ERROR_CODE_SYSTEM',
    'ISSUE_TYPES',
    'OUTCOME_BY_ERROR_CODE',
    'ProfileRegistry',
    'createOperationOutcome',
    'createOperationOutcomeFromError',
    'createValueSetExpander',
    'isFhirIssue',
    'loadFhirDefinitions',
    'loadFhirProfiles',
    'loadProfileFolder',
    'parseResource',
    'parseStrictJson',
    'validateResource',
  ]);
});
