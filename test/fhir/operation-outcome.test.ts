import { describe, expect, it } from 'vitest';
import { CareLedgerError, ERROR_CODES } from '../../src/errors/index.js';
import {
  createOperationOutcome,
  createOperationOutcomeFromError,
  ERROR_CODE_SYSTEM,
  ISSUE_TYPES,
  isFhirIssue,
  OUTCOME_BY_ERROR_CODE,
  parseResource,
  validateResource,
} from '../../src/fhir/index.js';

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('createOperationOutcomeFromError', () => {
  it('maps every error code to an R4 IssueType, and the outcome is itself a valid R4 resource', () => {
    for (const code of ERROR_CODES) {
      expect(ISSUE_TYPES).toContain(OUTCOME_BY_ERROR_CODE[code].code);
      const outcome = createOperationOutcomeFromError(new CareLedgerError(code, 'something failed'));
      expect(outcome.issue[0]).toMatchObject({
        code: OUTCOME_BY_ERROR_CODE[code].code,
        severity: OUTCOME_BY_ERROR_CODE[code].severity,
        diagnostics: 'something failed',
        details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], text: code },
      });
      expect(validateResource(outcome).issues).toEqual([]);
    }
  });

  it('names the parameter or element of a malformed request in the first issue', () => {
    const parameter = new CareLedgerError('ERR_INVALID_INPUT', 'bad count', {
      details: { parameter: '_count' },
    });
    expect(createOperationOutcomeFromError(parameter).issue[0]?.expression).toEqual(['_count']);
    const element = new CareLedgerError('ERR_INVALID_INPUT', 'wrong type', {
      details: { expression: 'Resource.resourceType' },
    });
    expect(createOperationOutcomeFromError(element).issue[0]?.expression).toEqual(['Resource.resourceType']);
    expect(
      createOperationOutcomeFromError(new CareLedgerError('ERR_GONE', 'gone')).issue[0],
    ).not.toHaveProperty('expression');
  });

  it('lists the validation issues of parseResource, with their FHIRPath expressions', () => {
    const outcome = createOperationOutcomeFromError(
      thrownBy(() =>
        parseResource({ resourceType: 'Observation', code: { text: 'x' }, issued: '2023-02-30T00:00:00Z' }),
      ),
    );
    expect(outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          diagnostics: 'FHIR resource is invalid: 2 error(s)',
          details: {
            coding: [{ system: ERROR_CODE_SYSTEM, code: 'ERR_INVALID_INPUT' }],
            text: 'ERR_INVALID_INPUT',
          },
          // The first issue names every element at fault, for clients that read only it.
          expression: ['Observation.issued', 'Observation.status'],
        },
        {
          severity: 'error',
          code: 'value',
          diagnostics: 'Invalid instant: the day does not exist in that month',
          expression: ['Observation.issued'],
        },
        {
          severity: 'error',
          code: 'required',
          diagnostics: 'Missing required property',
          expression: ['Observation.status'],
        },
      ],
    });
    expect(validateResource(outcome).valid).toBe(true);
  });

  it('hides the message of anything that is not a CareLedgerError', () => {
    const outcome = createOperationOutcomeFromError(new Error('patient Jane Doe not found'));
    expect(outcome.issue).toEqual([
      {
        severity: 'fatal',
        code: 'exception',
        diagnostics: 'internal error; the node logged the details',
        details: { coding: [{ system: ERROR_CODE_SYSTEM, code: 'ERR_INTERNAL' }], text: 'ERR_INTERNAL' },
      },
    ]);
  });

  it('ignores details.issues that are not FHIR issues', () => {
    const error = new CareLedgerError('ERR_INVALID_INPUT', 'bad', {
      details: { issues: [{ severity: 'loud' }] },
    });
    expect(createOperationOutcomeFromError(error).issue).toHaveLength(1);
  });
});

describe('createOperationOutcome', () => {
  it('builds one issue per FhirIssue', () => {
    const outcome = createOperationOutcome([
      { severity: 'warning', code: 'value', diagnostics: 'd', expression: ['Patient.gender'] },
      { severity: 'error', code: 'structure', diagnostics: 'e', expression: [] },
    ]);
    expect(outcome.issue).toEqual([
      { severity: 'warning', code: 'value', diagnostics: 'd', expression: ['Patient.gender'] },
      { severity: 'error', code: 'structure', diagnostics: 'e' },
    ]);
    expect(validateResource(outcome).valid).toBe(true);
  });

  it('says "All OK" for no issues, since R4 requires at least one', () => {
    const outcome = createOperationOutcome([]);
    expect(outcome.issue).toEqual([
      { severity: 'information', code: 'informational', diagnostics: 'All OK' },
    ]);
    expect(validateResource(outcome).valid).toBe(true);
  });
});

describe('isFhirIssue', () => {
  it.each([
    [{ severity: 'error', code: 'value', diagnostics: 'x', expression: ['A.b'] }, true],
    [{ severity: 'error', code: 'nope', diagnostics: 'x', expression: [] }, false],
    [{ severity: 'error', code: 'value', diagnostics: 'x' }, false],
    [null, false],
    ['error', false],
  ])('%j → %s', (value, expected) => {
    expect(isFhirIssue(value)).toBe(expected);
  });
});
