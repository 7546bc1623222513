/** Where a JSON text stops being JSON (RFC 8259): what a 400 OperationOutcome names. */
export interface JsonSyntaxErrorLocation {
  /** 1-based line and column (in UTF-16 code units) of the first character that does not fit. */
  readonly line: number;
  readonly column: number;
  /** FHIRPath of the element being read there (`Patient.name[0]`), or `$this` outside any element. */
  readonly expression: string;
  /** What the grammar needed at that point, in words (never the text found, which may be PHI). */
  readonly expected: string;
}

const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

interface Frame {
  readonly kind: 'object' | 'array';
  segment: string | number;
}

/**
 * Finds the first point at which `text` breaks the JSON grammar (RFC 8259 §2-7), for a text that
 * `JSON.parse` refused: V8's own message quotes the text (PHI) and, for some errors, gives no position.
 * Linear, with an explicit stack (no recursion limit). Answers the end of the text if it finds no fault
 * (a grammar JSON.parse and this scanner read differently).
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxErrorLocation {
  const stack: Frame[] = [];
  let resourceType: string | undefined;
  let i = 0;
  let mode: 'value' | 'name' | 'after' = 'value';
  const skip = () => {
    while (WHITESPACE.has(text.charCodeAt(i))) i++;
  };
  const at = (expected: string): JsonSyntaxErrorLocation => ({
    ...lineAndColumn(text, i),
    expression: expressionOf(resourceType, stack),
    expected: i >= text.length ? `${expected}, not the end of the body` : expected,
  });
  for (;;) {
    skip();
    const char = text[i];
    if (mode === 'value') {
      if (char === '{' || char === '[') {
        i++;
        skip();
        if (text[i] === (char === '{' ? '}' : ']')) {
          i++;
          mode = 'after';
        } else {
          stack.push(char === '{' ? { kind: 'object', segment: '' } : { kind: 'array', segment: 0 });
          mode = char === '{' ? 'name' : 'value';
        }
        continue;
      }
      if (char === '"') {
        const end = endOfString(text, i);
        if (end < 0) return at('a closing double quote, with control characters escaped');
        if (stack.length === 1 && stack[0]?.segment === 'resourceType') {
          const value = text.slice(i + 1, end - 1);
          if (ELEMENT_NAME.test(value)) resourceType = value;
        }
        i = end;
        mode = 'after';
        continue;
      }
      NUMBER.lastIndex = i;
      const number = NUMBER.exec(text);
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
      if (number !== null || literal !== undefined) {
        i += number?.[0].length ?? literal?.length ?? 0;
        mode = 'after';
        continue;
      }
      return at('a value (an object, array, string, number, true, false or null)');
    }
    const top = stack.at(-1);
    if (mode === 'name') {
      if (char !== '"') return at('a member name in double quotes');
      const end = endOfString(text, i);
      if (end < 0) return at('a closing double quote, with control characters escaped');
      if (top !== undefined) top.segment = text.slice(i + 1, end - 1);
      i = end;
      skip();
      if (text[i] !== ':') return at("':' after the member name");
      i++;
      mode = 'value';
      continue;
    }
    if (top === undefined) {
      if (i >= text.length) return at('valid JSON');
      return at('the end of the body after the JSON value');
    }
    if (char === ',') {
      i++;
      // In an object the next member's name is not read yet: the path ends at the object.
      top.segment = top.kind === 'array' ? (top.segment as number) + 1 : '';
      mode = top.kind === 'array' ? 'value' : 'name';
      continue;
    }
    if (char === (top.kind === 'object' ? '}' : ']')) {
      i++;
      stack.pop();
      continue;
    }
    return at(top.kind === 'object' ? "',' or '}' after the member" : "',' or ']' after the element");
  }
}

/** Index just past the string's closing quote, or -1 if it never closes or holds a raw control character. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x22) return i + 1;
    if (char < 0x20) return -1;
    if (char === 0x5c) {
      const escaped = text[i + 1] ?? '';
      if (escaped === 'u') {
        if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) return -1;
        i += 5;
      } else if ('"\\/bfnrt'.includes(escaped) && escaped !== '') i += 1;
      else return -1;
    }
  }
  return -1;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** A member name that is no element name (it may be anything the client sent) ends the path. */
function expressionOf(resourceType: string | undefined, stack: readonly Frame[]): string {
  let expression = resourceType ?? '$this';
  for (const frame of stack) {
    if (typeof frame.segment === 'number') expression += `[${frame.segment}]`;
    else if (ELEMENT_NAME.test(frame.segment)) expression += `.${frame.segment}`;
    else break;
  }
  return expression;
}
