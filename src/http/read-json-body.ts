import type { Context } from 'hono';
import { CareLedgerError } from '../errors/index.js';

/**
 * Reads a JSON body, which must be a JSON object (every body this API takes is one); malformed JSON,
 * `null`, an array or a bare value is a 400 naming the problem, never a 500.
 */
export async function readJsonBody(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be JSON (Content-Type: application/json)');
  }
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
