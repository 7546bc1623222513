import { deserialize, serialize } from 'node:v8';
import { CareLedgerError } from '../../errors/index.js';
import type { CommitGroup, CommitWrite } from '../../log/log-storage.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';
import type { PgApplyCommitGroup } from './postgres-log-storage.js';

/**
 * The durable queue of log groups waiting for the member's elected sequencer (decision 0022): any
 * process of the member enqueues a group (entries + commit writes, as data) in `log_pending`; the
 * leader integrates open groups in batches, and its append's transaction marks each group sequenced
 * (`first_index`) with the entries, so the writer learns its indices only once they are committed.
 */

/** Channel a writer notifies after enqueueing; the leader listens on it. */
export const PENDING_CHANNEL = 'careledger_log_pending';
/** Channel the leader notifies (on commit) after settling groups; writers listen on it. */
export const SETTLED_CHANNEL = 'careledger_log_settled';

export interface PendingGroupInput {
  readonly entries: readonly Uint8Array[];
  readonly withinCommit: readonly CommitWrite[];
}

export interface PendingGroup extends PendingGroupInput {
  readonly id: number;
}

/** The outcome of a settled group: its first log index, or the refusal, as code/message/details. */
export type PendingOutcome =
  | { readonly id: number; readonly firstIndex: number }
  | { readonly id: number; readonly error: Readonly<Record<string, unknown>> };

/** The commit write that marks a pending group sequenced, in the same transaction as its entries. */
export interface SettlePendingWrite extends CommitWrite {
  readonly kind: 'settle-pending';
  readonly pendingId: number;
  readonly epoch: number;
}

export function settlePendingWrite(pendingId: number, epoch: number): SettlePendingWrite {
  return { kind: 'settle-pending', pendingId, epoch };
}

function encodeGroup(group: PendingGroupInput): Buffer {
  // v8 structured serialisation: the same data the SQLite mode's workers send over IPC (Uint8Array, bigint).
  return serialize({
    entries: group.entries.map((e) => Uint8Array.from(e)),
    withinCommit: group.withinCommit,
  });
}

function decodeGroup(id: number, payload: Buffer): PendingGroup {
  const value = deserialize(payload) as { entries?: unknown; withinCommit?: unknown };
  if (!Array.isArray(value.entries) || !Array.isArray(value.withinCommit))
    throw new CareLedgerError('ERR_STORAGE', 'a pending log group is malformed', {
      details: { reason: 'pending-payload', id },
    });
  return { id, entries: value.entries as Uint8Array[], withinCommit: value.withinCommit as CommitWrite[] };
}

/** Enqueues groups in one transaction (one commit for all) and wakes the leader; ids in input order. */
export async function enqueuePendingGroups(
  db: PostgresDatabase,
  groups: readonly PendingGroupInput[],
  now: number,
): Promise<number[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ id: number }>(
      `INSERT INTO log_pending (payload, enqueued_at)
       SELECT p, $2 FROM unnest($1::bytea[]) WITH ORDINALITY AS t(p, n) ORDER BY n
       RETURNING id`,
      [groups.map(encodeGroup), now],
    );
    await tx.execute('SELECT pg_notify($1, $2)', [PENDING_CHANNEL, '']);
    // Identity values are handed out in insertion order, which follows ORDER BY n.
    return rows.map((r) => r.id).sort((a, b) => a - b);
  });
}

/** Open (not yet settled) groups, oldest first. */
export async function readOpenPendingGroups(db: PgQueryable, limit: number): Promise<PendingGroup[]> {
  const rows = await db.query<{ id: number; payload: Buffer }>(
    `SELECT id, payload FROM log_pending WHERE first_index IS NULL AND error IS NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((row) => decodeGroup(row.id, row.payload));
}

/** The outcomes of those of `ids` that are settled; the others are still waiting. */
export async function readPendingOutcomes(
  db: PgQueryable,
  ids: readonly number[],
): Promise<PendingOutcome[]> {
  const rows = await db.query<{ id: number; first_index: number | null; error: string | null }>(
    `SELECT id, first_index, error FROM log_pending
     WHERE id = ANY($1::bigint[]) AND (first_index IS NOT NULL OR error IS NOT NULL)`,
    [ids],
  );
  return rows.map((row) =>
    row.first_index !== null
      ? { id: row.id, firstIndex: row.first_index }
      : { id: row.id, error: JSON.parse(row.error as string) as Record<string, unknown> },
  );
}

/** Deletes settled groups whose writer has read them. */
export async function forgetPendingGroups(db: PgQueryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(
    'DELETE FROM log_pending WHERE id = ANY($1::bigint[]) AND (first_index IS NOT NULL OR error IS NOT NULL)',
    [ids],
  );
}

/**
 * Withdraws an open group (its writer gives up waiting). True if withdrawn, so it will never be
 * sequenced; false if the leader settled it first (read its outcome).
 */
export async function withdrawPendingGroup(db: PgQueryable, id: number): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE log_pending SET error = $2 WHERE id = $1 AND first_index IS NULL AND error IS NULL`,
    [id, JSON.stringify({ code: 'ERR_LOG_UNAVAILABLE', message: 'withdrawn', details: {} })],
  );
  return changed === 1;
}

/** Settles a group the leader refused (a version conflict, ...); only the leader, inside its fence. */
export async function settlePendingFailure(
  tx: PgQueryable,
  id: number,
  epoch: number,
  error: Readonly<Record<string, unknown>>,
): Promise<void> {
  await tx.execute(
    `UPDATE log_pending SET error = $2, settled_epoch = $3 WHERE id = $1 AND first_index IS NULL AND error IS NULL`,
    [id, JSON.stringify(error), epoch],
  );
  await tx.execute('SELECT pg_notify($1, $2)', [SETTLED_CHANNEL, '']);
}

/** Deletes settled groups older than `before` (ms) whose writer never came back for them. */
export async function prunePendingGroups(db: PgQueryable, before: number): Promise<number> {
  return db.execute(
    'DELETE FROM log_pending WHERE enqueued_at < $1 AND (first_index IS NOT NULL OR error IS NOT NULL)',
    [before],
  );
}

/**
 * Wraps the vault's applier: `settle-pending` writes mark their group sequenced at the group's first
 * index (refusing a group settled already, which would log it twice); the other writes go to `inner`.
 */
export function withPendingSettlement(inner: PgApplyCommitGroup): PgApplyCommitGroup {
  return async (tx, group: CommitGroup) => {
    const own = group.writes.filter((w): w is SettlePendingWrite => w.kind === 'settle-pending');
    const rest = group.writes.filter((w) => w.kind !== 'settle-pending');
    if (rest.length > 0) await inner(tx, { firstIndex: group.firstIndex, writes: rest });
    for (const write of own) {
      const changed = await tx.execute(
        `UPDATE log_pending SET first_index = $2, settled_epoch = $3
         WHERE id = $1 AND first_index IS NULL AND error IS NULL`,
        [write.pendingId, group.firstIndex, write.epoch],
      );
      if (changed !== 1)
        throw new CareLedgerError('ERR_STORAGE', 'a pending log group was settled already', {
          details: { reason: 'pending-settled', id: write.pendingId },
        });
      // Delivered when the transaction commits, never before: a writer woken by it finds its outcome.
      await tx.execute('SELECT pg_notify($1, $2)', [SETTLED_CHANNEL, '']);
    }
  };
}
