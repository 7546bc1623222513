import type { Context } from 'hono';
import { CareLedgerError } from '../errors/index.js';
import { parseStrictJson } from '../fhir/parse-strict-json.js';

/**
 * Reads a JSON body, which must be a JSON object (every body this API takes is one); malformed JSON,
 * `null`, an array or a bare value, a duplicate key or a `__proto__` key is a 400 naming the problem,
 * never a 500.
 */
export async function readJsonBody(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be JSON (Content-Type: application/json)');
  }
  // Duplicate keys and `__proto__` are refused, not resolved: see parseStrictJson.
  const body = parseStrictJson(await c.req.text());
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
