/**
 * The EPCIS event query (EPCIS 2.0 §8.2.7 query parameters, as parsed by src/supply/capture) as one SQL
 * statement, the same text on SQLite and PostgreSQL; only the parameter markers differ (`?` or `$n`).
 */
import type { EpcisEventFilter } from '../supply/storage/supply-store.js';

export interface SqlStatement {
  readonly sql: string;
  readonly params: unknown[];
}

/** `?` for SQLite; `(n) => '$' + n` for PostgreSQL (n counts from 1). */
export type ParameterMarker = (n: number) => string;

export const sqliteMarker: ParameterMarker = () => '?';
export const postgresMarker: ParameterMarker = (n) => `$${n}`;

/**
 * Events matching `filter`, in (record_time, event_hash) order (the keyset of the paging token),
 * at most `filter.limit`. An EPC pattern ending in `*` is a prefix, matched case-sensitively on both
 * engines (GS1 serials are case-sensitive; SQLite's LIKE alone ignores ASCII case), with LIKE kept so
 * PostgreSQL can use the `COLLATE "C"` index on the EPC.
 */
export function epcisEventQuery(filter: EpcisEventFilter, marker: ParameterMarker): SqlStatement {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return marker(params.length);
  };
  const anyOf = (column: string, values: readonly string[] | undefined) => {
    if (values === undefined) return;
    where.push(values.length === 0 ? 'FALSE' : `${column} IN (${values.map(param).join(', ')})`);
  };
  anyOf('event_type', filter.eventTypes);
  anyOf('action', filter.actions);
  anyOf('biz_step', filter.bizSteps);
  anyOf('disposition', filter.dispositions);
  anyOf('biz_location', filter.bizLocations);
  anyOf('read_point', filter.readPoints);
  anyOf('event_id', filter.eventIds);
  const bound = (column: string, op: string, value: string | undefined) => {
    if (value !== undefined) where.push(`${column} ${op} ${param(value)}`);
  };
  bound('event_time', '>=', filter.eventTimeFrom);
  bound('event_time', '<', filter.eventTimeBefore);
  bound('record_time', '>=', filter.recordTimeFrom);
  bound('record_time', '<', filter.recordTimeBefore);
  for (const match of filter.epcMatches ?? []) {
    const alternatives = match.patterns.map((pattern) => {
      if (!pattern.endsWith('*')) return `e.epc = ${param(pattern)}`;
      const prefix = pattern.slice(0, -1);
      // substr counts characters (code points) on both engines, not UTF-16 units.
      return `(e.epc LIKE ${param(`${escapeLike(prefix)}%`)} ESCAPE '\\' AND substr(e.epc, 1, ${param([...prefix].length)}) = ${param(prefix)})`;
    });
    const roles = match.roles.map(param);
    where.push(
      alternatives.length === 0 || roles.length === 0
        ? 'FALSE'
        : `event_hash IN (SELECT e.event_hash FROM epcis_event_epcs e WHERE (${alternatives.join(' OR ')})
           AND e.role IN (${roles.join(', ')}))`,
    );
  }
  if (filter.after !== undefined) {
    where.push(
      `(record_time, event_hash) > (${param(filter.after.recordTime)}, ${param(filter.after.eventHash)})`,
    );
  }
  const sql = `SELECT * FROM epcis_events ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
    ORDER BY record_time, event_hash LIMIT ${param(filter.limit)}`;
  return { sql, params };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
