import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Context, Hono } from 'hono';
import { type Address, getAddress, isAddress } from 'viem';
import { CareLedgerError } from '../errors/index.js';

/**
 * Headers on every portal response. The CSP allows only the portal's own files and API: no inline
 * script or style (the bundle sets styles through the CSSOM, which CSP permits), no framing
 * (clickjacking), no referrer (the authorization code and ids stay out of other sites' logs).
 */
export const PORTAL_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

export interface PortalRouteDeps {
  /** The folder the build wrote (`dist/portal/public`); default: found from this module's location. */
  readonly publicDir?: string;
  /**
   * The patient's next ConsentRegistry nonce (read from the chain): the browser signs it into a grant
   * or revocation. Public ledger data, so no sign-in is needed.
   */
  readonly consentNonce?: (patient: Address) => Promise<bigint>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** `dist/portal/public` both from `src/portal/` (tsx, tests) and from `dist/portal/` (the built CLI). */
function defaultPublicDir(): string {
  return fileURLToPath(new URL('../../dist/portal/public/', import.meta.url));
}

/** Serves the portal under `/portal/*` (mount with `app.route('/portal', createPortalRoutes(...))`). */
export function createPortalRoutes(deps: PortalRouteDeps = {}): Hono {
  const app = new Hono();
  const dir = deps.publicDir ?? defaultPublicDir();
  const cache = new Map<string, Buffer>();
  // Hashed assets never change, so they are cached; index.html is read each time, so a rebuild
  // (npm run build while the node runs) is served at once.
  const read = (name: string, cacheable: boolean): Buffer | undefined => {
    const hit = cache.get(name);
    if (hit !== undefined) return hit;
    try {
      const bytes = readFileSync(join(dir, name));
      if (cacheable) cache.set(name, bytes);
      return bytes;
    } catch {
      return undefined;
    }
  };

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(PORTAL_SECURITY_HEADERS)) c.header(name, value);
  });

  const page = (c: Context) => {
    const html = read('index.html', false);
    if (html === undefined) {
      return c.html(
        '<!doctype html><html lang="en"><title>Portal not built</title><main><h1>The portal is not built</h1><p>Run <code>npm run build</code> (it writes <code>dist/portal/public</code>), then reload.</p></main></html>',
        503,
        { 'cache-control': 'no-store' },
      );
    }
    // The page names the current hashed bundle, so it is never cached; the bundle is, forever.
    return c.body(new Uint8Array(html), 200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
  };

  app.get('/assets/:file', (c) => {
    const file = c.req.param('file');
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(file) || file.startsWith('.')) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such portal asset');
    }
    const bytes = read(join('assets', file), /-[A-Z0-9]{8}\./.test(file));
    const type = CONTENT_TYPES[file.slice(file.lastIndexOf('.'))];
    if (bytes === undefined || type === undefined) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such portal asset');
    }
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': type,
      'cache-control': /-[A-Z0-9]{8}\./.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  });

  app.get('/api/consent-nonce', async (c) => {
    const patient = c.req.query('patient') ?? '';
    if (!isAddress(patient, { strict: false })) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'patient must be a ledger address', {
        details: { field: 'patient' },
      });
    }
    if (deps.consentNonce === undefined) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node does not read consent nonces');
    }
    const nonce = await deps.consentNonce(getAddress(patient));
    return c.json({ patient: getAddress(patient), nonce: nonce.toString() }, 200, {
      'cache-control': 'no-store',
    });
  });

  // `/portal` and `/portal/` (the SMART redirect URI) and `/portal/index.html`: the one page of the app.
  app.get('/', page);
  app.get('/*', (c) => {
    if (c.req.path.endsWith('/') || c.req.path.endsWith('/index.html')) return page(c);
    throw new CareLedgerError('ERR_NOT_FOUND', 'no such portal page');
  });

  return app;
}
