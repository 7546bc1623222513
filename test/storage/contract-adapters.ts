import { afterAll, beforeAll } from 'vitest';
import {
  postgresAdapter,
  type StorageAdapter,
  sqliteAdapter,
} from '../../src/storage/contract-tests/storage-adapter.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

/**
 * The two adapters a storage contract runs on: SQLite, and a throw-away PostgreSQL started before the
 * file's tests and stopped after them (the file fails, never skips, if it cannot start). Each
 * contract's database is named `databasePrefix` + its own name. Call at the top level of a test file.
 */
export function contractAdapters(databasePrefix = ''): StorageAdapter[] {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });
  return [
    sqliteAdapter(),
    postgresAdapter(async (name) => {
      if (server === undefined) throw new Error('the PostgreSQL test server did not start');
      return server.createDatabase(`${databasePrefix}${name}`);
    }),
  ];
}
