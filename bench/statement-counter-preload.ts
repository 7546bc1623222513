/**
 * Loaded into a node process with `--import` by bench/groups/transaction-bundle.ts: counts the SQL
 * statements the process sends, to PostgreSQL (every `query` of a pg client, pooled or not) and to
 * SQLite (every run/get/all/iterate of a prepared better-sqlite3 statement, and every `exec`). On
 * SIGUSR2 it writes the counts so far, as JSON, to the file named by CARELEDGER_BENCH_COUNTS_FILE, with
 * PostgreSQL's by the start of their text.
 * Measurement only: nothing in the node imports it.
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';

const file = process.env.CARELEDGER_BENCH_COUNTS_FILE;
const counts = { postgres: 0, sqlite: 0 };
/** PostgreSQL statements by their text's start, to say where they go. */
const byText = new Map<string, number>();

type Method = (...args: unknown[]) => unknown;

function countCalls(proto: Record<string, unknown>, names: readonly string[], key: keyof typeof counts) {
  for (const name of names) {
    const original = proto[name] as Method;
    proto[name] = function counted(this: unknown, ...args: unknown[]) {
      counts[key] += 1;
      return original.apply(this, args);
    };
  }
}

countCalls(pg.Client.prototype as unknown as Record<string, unknown>, ['query'], 'postgres');
const pgQuery = pg.Client.prototype.query as unknown as Method;
pg.Client.prototype.query = function textCounted(this: unknown, ...args: unknown[]) {
  const first = args[0];
  const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '?');
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 70);
  byText.set(key, (byText.get(key) ?? 0) + 1);
  return pgQuery.apply(this, args);
} as typeof pg.Client.prototype.query;
const probe = new Database(':memory:');
countCalls(
  Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>,
  ['run', 'get', 'all', 'iterate'],
  'sqlite',
);
countCalls(Database.prototype as unknown as Record<string, unknown>, ['exec'], 'sqlite');
probe.close();

process.on('SIGUSR2', () => {
  if (file !== undefined)
    writeFileSync(file, JSON.stringify({ ...counts, byText: Object.fromEntries(byText) }));
});
