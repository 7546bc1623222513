import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { AuthorizationServer, UserDirectory } from '../../src/auth/index.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { createOAuthRoutes } from '../../src/http/routes/oauth-routes.js';
import { createSigningKey } from '../../src/smart/index.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../../src/storage/sqlite/sqlite-auth-store.js';

export const TEST_ISSUER = 'https://node.example';

export interface OAuthTestApp {
  /** The node's HTTP shell with the OAuth routes mounted at `/`. */
  readonly app: Hono;
  readonly server: AuthorizationServer;
  readonly users: UserDirectory;
  close(): void;
}

/**
 * The real authorization server and user directory over a real SQLite auth store in a fresh folder,
 * behind the node's HTTP shell (`createNodeApp`: its security headers and error answers), as a node
 * mounts them. `authenticate` answers the routes that need a caller (default: none does).
 */
export function openOAuthTestApp(
  options: {
    readonly name?: string;
    readonly maxPendingRegistrations?: number;
    readonly authenticate?: (
      server: AuthorizationServer,
    ) => Parameters<typeof createOAuthRoutes>[0]['authenticate'];
  } = {},
): OAuthTestApp {
  const dir = mkdtempSync(join(tmpdir(), `careledger-${options.name ?? 'oauth'}-`));
  const db = openDatabase(join(dir, 'auth.db'), authMigrations);
  const store = new SqliteAuthStore(db);
  const signing = createSigningKey('ES256');
  const server = new AuthorizationServer({
    store,
    issuer: TEST_ISSUER,
    fhirBaseUrl: `${TEST_ISSUER}/fhir`,
    signingKey: { privateJwk: signing.privateJwk, publicJwk: signing.publicJwk },
    openSecret: async () => '',
  });
  const users = new UserDirectory({
    store,
    seal: async () => '',
    issuer: TEST_ISSUER,
    ...(options.maxPendingRegistrations === undefined
      ? {}
      : { maxPendingRegistrations: options.maxPendingRegistrations }),
  });
  const notUsed = async (): Promise<AccessContext> => {
    throw new CareLedgerError('ERR_UNAUTHENTICATED', 'not used here');
  };
  const app = createNodeApp({ loadShedding: false });
  app.route(
    '/',
    createOAuthRoutes({
      server,
      users,
      organization: 'Test',
      authenticate: options.authenticate?.(server) ?? notUsed,
    }),
  );
  return {
    app,
    server,
    users,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
