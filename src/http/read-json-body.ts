import type { Context } from 'hono';
import { CareLedgerError } from '../errors/index.js';

/** Reads a JSON body; malformed JSON is a 400 naming the problem, never a 500. */
export async function readJsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be JSON (Content-Type: application/json)');
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body is not valid JSON');
  }
}
