import { CareLedgerError } from '../errors/index.js';
import type { FhirIssue } from './fhir-issue.js';
import { locateJsonSyntaxError } from './locate-json-syntax-error.js';

/**
 * Parses JSON text as `JSON.parse` does, but refuses an object with the same member name twice and
 * any member named `__proto__`.
 *
 * RFC 8259 §4 only says names SHOULD be unique and leaves duplicates to the parser; `JSON.parse` keeps
 * the last one, so `{"meta":{"security":[HIV]},...,"meta":{}}` would silently drop a sensitivity label
 * that a reviewer or another parser (keeping the first) sees. FHIR R4 json.html: a resource is a JSON
 * object whose properties are its elements, each at most once. `__proto__` is never a FHIR element and
 * is a prototype-pollution vector once an object is spread or merged.
 *
 * Throws CareLedgerError('ERR_INVALID_INPUT'); for a duplicate, `details.issues` holds one FhirIssue
 * whose expression is the FHIRPath of the repeated element (`Patient.meta`,
 * `Bundle.entry[0].resource.meta`). Linear in the text, with an explicit stack (no recursion limit).
 */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    // Where it failed, in words and place only: V8's message quotes the text, which may be PHI.
    const fault = locateJsonSyntaxError(text);
    const where = `line ${fault.line}, column ${fault.column}`;
    const issue: FhirIssue = {
      severity: 'error',
      code: 'structure',
      diagnostics: `The body is not valid JSON (RFC 8259) at ${where}: expected ${fault.expected}`,
      expression: [fault.expression],
    };
    throw new CareLedgerError('ERR_INVALID_INPUT', `the body is not valid JSON: ${where}`, {
      details: { issues: [issue], location: [`Line[${fault.line}] Col[${fault.column}]`] },
    });
  }
  const problem = findRepeatedName(text);
  if (problem !== undefined) {
    const expression = fhirPathOf(value, problem.path);
    const diagnostics =
      problem.kind === 'duplicate'
        ? 'A JSON object has the same member twice (RFC 8259 §4); each element may appear once'
        : 'A JSON member named __proto__ is not allowed';
    const issue: FhirIssue = { severity: 'error', code: 'structure', diagnostics, expression: [expression] };
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      problem.kind === 'duplicate' ? 'the body has a duplicate JSON key' : 'the body has a __proto__ key',
      { details: { issues: [issue] } },
    );
  }
  return value;
}

type Segment = string | number;

interface Problem {
  readonly kind: 'duplicate' | 'proto';
  readonly path: readonly Segment[];
}

interface Frame {
  readonly names: Set<string> | undefined; // undefined for an array
  /** The member name or array index of the value being read in this container. */
  segment: Segment;
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Walks text that JSON.parse has already accepted, tracking the member names of every open object.
 * Since the grammar is known to be valid, only strings, brackets, commas and colons matter.
 */
function findRepeatedName(text: string): Problem | undefined {
  const stack: Frame[] = [];
  const path = () => stack.map((frame) => frame.segment);
  let i = 0;
  const length = text.length;
  while (i < length) {
    const char = text.charCodeAt(i);
    if (char === 0x22 /* " */) {
      const end = endOfString(text, i);
      const top = stack[stack.length - 1];
      if (top?.names !== undefined && isAtName(text, end)) {
        const raw = text.slice(i, end);
        const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        top.segment = name;
        if (name === '__proto__') return { kind: 'proto', path: path() };
        if (top.names.has(name)) return { kind: 'duplicate', path: path() };
        top.names.add(name);
      }
      i = end;
      continue;
    }
    if (char === 0x7b /* { */) {
      stack.push({ names: new Set(), segment: '' });
    } else if (char === 0x5b /* [ */) {
      stack.push({ names: undefined, segment: 0 });
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      stack.pop();
    } else if (char === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.names === undefined) top.segment = (top.segment as number) + 1;
    }
    i++;
  }
  return undefined;
}

/** Index just past the closing quote of the string starting at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const char = text.charCodeAt(i);
    if (char === 0x5c /* \ */) i += 2;
    else if (char === 0x22) return i + 1;
    else i++;
  }
}

/** Whether the string that ended at `end` is a member name: the next non-space character is `:`. */
function isAtName(text: string, end: number): boolean {
  let i = end;
  while (WHITESPACE.has(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 0x3a /* : */;
}

const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * `["entry", 0, "resource", "meta"]` in a Bundle → `Bundle.entry[0].resource.meta`. A name that is no
 * element name (it may be anything the client sent) ends the path at its parent.
 */
function fhirPathOf(root: unknown, path: readonly Segment[]): string {
  const type =
    typeof root === 'object' &&
    root !== null &&
    typeof (root as { resourceType?: unknown }).resourceType === 'string'
      ? (root as { resourceType: string }).resourceType
      : '';
  let expression = ELEMENT_NAME.test(type) ? type : '$this';
  for (const segment of path) {
    if (typeof segment === 'number') expression += `[${segment}]`;
    else if (ELEMENT_NAME.test(segment)) expression += `.${segment}`;
    else break;
  }
  return expression;
}
