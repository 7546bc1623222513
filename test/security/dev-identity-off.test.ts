/**
 * Security model, "Who is asking": unless the operator switched `devIdentityHeader` on, the
 * development identity header is not believed, even from this machine; a request with only that
 * header is 401 with `WWW-Authenticate: Bearer`. (start-node passes `config.devIdentityHeader === true`,
 * so a node.json without the field runs with it off.)
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';

function appWith(devIdentityHeader: boolean): Hono {
  const authenticate = createAuthenticator({ organization: 'Riverside', devIdentityHeader });
  const app = new Hono();
  app.get('/who', async (c) => c.json(await authenticate(c)));
  app.onError((error, c) =>
    c.json({ code: error instanceof CareLedgerError ? error.code : 'other' }, 401, {
      'WWW-Authenticate': c.res.headers.get('WWW-Authenticate') ?? '',
    }),
  );
  return app;
}

const headers = {
  'X-CareLedger-Identity': 'Practitioner/dr-grey',
  'X-CareLedger-Roles': 'clinician',
  'X-CareLedger-Purpose': 'TREAT',
};

describe('the development identity header', () => {
  it('is not believed when the operator did not switch it on, even in-process on loopback', async () => {
    const refused = await appWith(false).request('http://127.0.0.1/who', { headers });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ code: 'ERR_UNAUTHENTICATED' });
    expect(refused.headers.get('WWW-Authenticate')).toContain('Bearer');

    const believed = await appWith(true).request('http://127.0.0.1/who', { headers });
    expect(believed.status).toBe(200);
  });
});
