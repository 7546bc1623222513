import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { CareLedgerError } from '../errors/index.js';

/**
 * The node operator's endpoints (`/admin/...`): the request must carry `Bearer <admin token>`,
 * compared in constant time; anything else is a 401 with the admin realm.
 */
export function requireOperatorToken(adminToken: string): MiddlewareHandler {
  const expected = Buffer.from(`Bearer ${adminToken}`);
  return async (c, next) => {
    const given = Buffer.from(c.req.header('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="careledger-admin"');
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the admin endpoints need the node operator token');
    }
    await next();
  };
}
