/**
 * A malformed JSON body's 400 names where it broke (issue 13 item 5): line, column and the element
 * being read, never the text found there. Positions checked against V8's own where it gives one.
 */
import { describe, expect, it } from 'vitest';
import { locateJsonSyntaxError } from '../../src/fhir/locate-json-syntax-error.js';
import { createOperationOutcomeFromError } from '../../src/fhir/operation-outcome.js';
import { parseStrictJson } from '../../src/fhir/parse-strict-json.js';

describe('locateJsonSyntaxError', () => {
  it('names line, column and element of a missing comma', () => {
    const text = '{\n  "resourceType": "Patient",\n  "name": [{"family": "Doe" "given": ["J"]}]\n}';
    expect(locateJsonSyntaxError(text)).toEqual({
      line: 3,
      column: 29,
      expression: 'Patient.name[0].family',
      expected: "',' or '}' after the member",
    });
  });

  it.each([
    ['{"resourceType":"Patient","active":}', 1, 36, 'Patient.active', 'a value'],
    ['{"resourceType":"Patient","active":true,}', 1, 41, 'Patient', 'a member name'],
    [
      '{"resourceType":"Patient","name":[{"given":["A" "B"]}]}',
      1,
      49,
      'Patient.name[0].given[0]',
      "',' or ']'",
    ],
    ['{"resourceType":"Patient","gender" "male"}', 1, 36, 'Patient.gender', "':' after"],
    ['{"resourceType":"Patient","active":tru}', 1, 36, 'Patient.active', 'a value'],
    ['{"resourceType":"Patient"', 1, 26, 'Patient.resourceType', 'not the end of the body'],
    ['{"resourceType":"Patient"} x', 1, 28, 'Patient', 'the end of the body after'],
    ['{"resourceType":"Patient","id":"a\u0001"}', 1, 32, 'Patient.id', 'closing double quote'],
    ['', 1, 1, '$this', 'a value'],
  ])('%j → line %i column %i at %s', (text, line, column, expression, expected) => {
    const fault = locateJsonSyntaxError(text);
    expect(() => JSON.parse(text)).toThrow();
    expect({ line: fault.line, column: fault.column, expression: fault.expression }).toEqual({
      line,
      column,
      expression,
    });
    expect(fault.expected).toContain(expected);
  });

  it('agrees with V8 wherever V8 states a position', () => {
    const texts = ['{"a":1,}', '{"a":1', '{"a" 1}', '[1 2]', '{"a":[1,2,}', '{"a":{"b":nul}}'];
    for (const text of texts) {
      let position: number | undefined;
      try {
        JSON.parse(text);
      } catch (error) {
        const match = / at position ([0-9]+)/.exec((error as Error).message);
        position = match === null ? undefined : Number(match[1]);
      }
      if (position !== undefined) expect(locateJsonSyntaxError(text).column - 1).toBe(position);
    }
  });
});

describe('parseStrictJson on malformed JSON', () => {
  it('throws a 400 whose OperationOutcome names the element and the line and column, not the text', () => {
    const text = '{"resourceType":"Patient",\n"name":[{"family":"Secret-Name" "x":1}]}';
    let thrown: unknown;
    try {
      parseStrictJson(text);
    } catch (error) {
      thrown = error;
    }
    const outcome = createOperationOutcomeFromError(thrown);
    expect(outcome.issue[0]).toMatchObject({
      code: 'invalid',
      expression: ['Patient.name[0].family'],
      location: ['Line[2] Col[33]'],
    });
    expect(outcome.issue[0]?.diagnostics).toContain('line 2, column 33');
    expect(outcome.issue[1]).toMatchObject({ code: 'structure', expression: ['Patient.name[0].family'] });
    expect(JSON.stringify(outcome)).not.toContain('Secret');
  });
});
