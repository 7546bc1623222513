import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import { type FhirIssue, parseStrictJson } from '../../src/fhir/index.js';

function refusal(text: string): { message: string; issues: FhirIssue[] } {
  try {
    parseStrictJson(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    const known = error as CareLedgerError;
    expect(known.code).toBe('ERR_INVALID_INPUT');
    return { message: known.message, issues: (known.details.issues ?? []) as FhirIssue[] };
  }
  throw new Error('expected a refusal');
}

describe('parseStrictJson: duplicate keys (issue 14 item 7)', () => {
  it('refuses a second meta that would drop an HIV label, naming Patient.meta', () => {
    const text =
      '{"resourceType":"Patient","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]},"gender":"female","meta":{"versionId":"1"}}';
    // What JSON.parse does silently: the label is gone.
    expect((JSON.parse(text) as { meta: unknown }).meta).toEqual({ versionId: '1' });
    const { message, issues } = refusal(text);
    expect(message).toBe('the body has a duplicate JSON key');
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'structure',
        diagnostics: 'A JSON object has the same member twice (RFC 8259 §4); each element may appear once',
        expression: ['Patient.meta'],
      },
    ]);
  });

  it.each([
    [
      'escaped spelling of the same name',
      '{"resourceType":"Patient","gender":"male","\\u0067ender":"female"}',
      'Patient.gender',
    ],
    [
      'inside a Bundle entry',
      '{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient"}},{"resource":{"resourceType":"Patient","id":"a","id":"b"}}]}',
      'Bundle.entry[1].resource.id',
    ],
    [
      'in an array item',
      '{"resourceType":"Patient","name":[{"family":"A"},{"family":"B","family":"C"}]}',
      'Patient.name[1].family',
    ],
    ['with whitespace around the colon', '{ "a" : 1 , "a" : 2 }', '$this.a'],
    [
      'a name that is no element name ends the path at its parent',
      '{"resourceType":"Patient","x y":1,"x y":2}',
      'Patient',
    ],
  ])('refuses a duplicate %s', (_name, text, expression) => {
    expect(refusal(text).issues[0]?.expression).toEqual([expression]);
  });

  it('refuses a __proto__ member, escaped or not', () => {
    expect(refusal('{"resourceType":"Patient","__proto__":{"admin":true}}').message).toBe(
      'the body has a __proto__ key',
    );
    expect(refusal('{"a":{"\\u005f_proto__":1}}').issues[0]?.expression).toEqual(['$this.a.__proto__']);
  });

  it('accepts the same name in different objects, and brackets, quotes and commas inside strings', () => {
    const text = '{"x":{"a":1},"y":{"a":1},"s":"}\\",{\\"a\\":","list":[{"a":1},{"a":2}],"a":"a"}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it('refuses malformed JSON as JSON.parse does, with a typed error', () => {
    // Since issue 13 item 5 the message says where: line and column, never the text.
    expect(refusal('{"a":').message).toBe('the body is not valid JSON: line 1, column 6');
    expect(refusal('').message).toBe('the body is not valid JSON: line 1, column 1');
  });

  it('walks deeply nested input without recursion', () => {
    const depth = 100_000;
    const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    let parsed = true;
    try {
      parseStrictJson(text);
    } catch (error) {
      // V8's JSON.parse may itself refuse such depth; either way the answer is typed.
      expect(error).toBeInstanceOf(CareLedgerError);
      parsed = false;
    }
    expect(typeof parsed).toBe('boolean');
  });

  it('returns what JSON.parse returns for any JSON without duplicates (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const hasProto = text.includes('"__proto__"');
        if (hasProto) return;
        expect(parseStrictJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 500, seed: 20261207 },
    );
  });

  it('finds a duplicate wherever it is injected (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
          minKeys: 1,
        }),
        (object) => {
          const keys = Object.keys(object).filter((key) => key !== '__proto__');
          fc.pre(keys.length > 0);
          const key = keys[0] as string;
          const text = `{${JSON.stringify(key)}:1,${JSON.stringify(object).slice(1)}`;
          expect(() => parseStrictJson(text)).toThrow(CareLedgerError);
        },
      ),
      { numRuns: 300, seed: 20261207 },
    );
  });
});
