import { expect, it } from 'vitest';
import * as fhir from '../../src/fhir/index.js';

it('pins the public face of src/fhir', () => {
  expect(Object.keys(fhir).sort()).toEqual([
    'ERROR_CODE_SYSTEM',
    'ISSUE_TYPES',
    'OUTCOME_BY_ERROR_CODE',
    'createOperationOutcome',
    'createOperationOutcomeFromError',
    'createValueSetExpander',
    'isFhirIssue',
    'loadFhirDefinitions',
    'parseResource',
    'validateResource',
  ]);
});
