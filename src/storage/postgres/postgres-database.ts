import pg from 'pg';
import { CareLedgerError } from '../../errors/index.js';

/** What a store runs its statements on: the pool, or the one client of a transaction. */
export interface PgQueryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Rows changed by an INSERT, UPDATE or DELETE. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface PostgresDatabase extends PgQueryable {
  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it
   * throws. Acknowledged means COMMIT returned, which with fsync and synchronous_commit on (the
   * PostgreSQL defaults, checked at open) means the WAL record is on disk.
   */
  transaction<T>(work: (tx: PgQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Seconds a client should wait before retrying when the database is unreachable (RFC 9110 §10.2.3). */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

// SQLSTATE classes that mean "the database is not there right now", not "your statement is wrong":
// 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections
// (PostgreSQL docs, Appendix A "PostgreSQL Error Codes").
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40P01', '40001']);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENOENT',
]);

/** True for a failure that retrying later can cure: the server went away, restarts or is full. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
  }
  // node-postgres reports a dropped socket with these messages and no code.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    error.message,
  );
}

/**
 * Turns a driver failure into a CareLedgerError without the driver's message, which may quote the
 * values of a row (a duplicate key's DETAIL names it). Unavailable is ERR_STORAGE with
 * `reason: 'unavailable'`: HTTP answers 503 with Retry-After, and the client's retry is safe because
 * nothing was acknowledged.
 */
export function toStorageError(error: unknown, what: string): CareLedgerError {
  if (error instanceof CareLedgerError) return error;
  if (isDatabaseUnavailable(error)) {
    return new CareLedgerError('ERR_STORAGE', `the database is unavailable (${what})`, {
      cause: error,
      details: { reason: 'unavailable', retryAfter: DATABASE_RETRY_AFTER_SECONDS },
    });
  }
  const sqlstate = (error as { code?: unknown }).code;
  return new CareLedgerError('ERR_STORAGE', `the database refused to ${what}`, {
    cause: error,
    details: { reason: 'postgres', ...(typeof sqlstate === 'string' ? { sqlstate } : {}) },
  });
}

// int8 (OID 20) as a JS number: every BIGINT here is a count, a log index or milliseconds, far below
// 2^53; a value beyond it is refused rather than silently rounded.
const INT8_OID = 20;
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new CareLedgerError('ERR_STORAGE', 'a stored integer exceeds 2^53', {
      details: { reason: 'int8' },
    });
  }
  return value;
}
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function queryable(client: pg.Pool | pg.PoolClient, what: string): PgQueryable {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        return (await client.query<R>(sql, params as unknown[])).rows;
      } catch (error) {
        throw toStorageError(error, what);
      }
    },
    async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
      try {
        return (await client.query(sql, params as unknown[])).rowCount ?? 0;
      } catch (error) {
        throw toStorageError(error, what);
      }
    },
  };
}

export interface OpenPostgresOptions {
  /** Connections in the pool (default 10). */
  readonly maxConnections?: number;
  /** How long a request waits for a connection before it fails as unavailable (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Where to report a connection that broke while idle in the pool (no statement was running). */
  readonly onIdleError?: (error: Error) => void;
}

/** Opens a pool on `url` (postgres://...). Connections are made lazily; `verify...` checks one works. */
export function openPostgresDatabase(url: string, options: OpenPostgresOptions = {}): PostgresDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    types,
    application_name: 'careledger',
  });
  // Without a listener, an idle connection that the server drops crashes the process (node-postgres
  // emits 'error' on the pool); the pool has already discarded it, so the next query opens another.
  pool.on('error', (error) => options.onIdleError?.(error));
  const base = queryable(pool, 'run a statement');
  let closed = false;
  return {
    ...base,
    async transaction<T>(work: (tx: PgQueryable) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw toStorageError(error, 'open a transaction');
      }
      let broken: unknown;
      // The server may end the session between two statements (idle_in_transaction_session_timeout,
      // pg_terminate_backend, a restart): node-postgres then emits 'error' on the checked-out client,
      // which without a listener would crash the process. The next statement fails and rolls back.
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work(queryable(client, 'run a statement in a transaction'));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        broken =
          isDatabaseUnavailable(error) || isDatabaseUnavailable((error as Error).cause) ? error : undefined;
        if (broken === undefined) await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
        throw toStorageError(error, 'commit a transaction');
      } finally {
        // A connection that failed mid-transaction is destroyed, never handed to the next request.
        client.removeListener('error', onError);
        client.release(broken === undefined ? undefined : true);
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** Whether `url` names a PostgreSQL database (CARELEDGER_DATABASE_URL), rather than the SQLite file. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}
