import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { requireOperatorToken } from './require-operator-token.js';

function operatorApp(): Hono {
  const app = new Hono();
  app.use('*', requireOperatorToken('s3cret-operator-token'));
  app.post('/members/proposals', (c) => c.json({ ok: true }, 201));
  app.onError((error, c) =>
    c.json({ code: error instanceof CareLedgerError ? error.code : 'other', message: error.message }, 401),
  );
  return app;
}

describe('requireOperatorToken', () => {
  it('lets the operator token through', async () => {
    const response = await operatorApp().request('/members/proposals', {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret-operator-token' },
    });
    expect(response.status).toBe(201);
  });

  it.each([
    ['no header', undefined],
    ['an empty bearer', 'Bearer '],
    ['another token of the same length', 'Bearer s3cret-operator-tokeN'],
    ['a longer token', 'Bearer s3cret-operator-token2'],
    ['another scheme', 'Basic s3cret-operator-token'],
  ])('refuses %s with the admin realm', async (_case, authorization) => {
    const response = await operatorApp().request('/members/proposals', {
      method: 'POST',
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="careledger-admin"');
    expect(await response.json()).toEqual({
      code: 'ERR_UNAUTHENTICATED',
      message: 'the admin endpoints need the node operator token',
    });
  });
});
