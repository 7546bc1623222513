/**
 * `npm run bench -- --only fhir-audit-bytes`: what the audit trail costs on disk (issue 16 item 3,
 * decision 0039), beside the peer's figures. A solo node in this process (embedded chain, every
 * protection on) creates Patients with the peer comparison's 113-byte body, then reads them by id
 * with 16 requests in flight. Load-independent figures, so they can be taken on a shared machine:
 *
 * - bytes written per read and per create: `write_bytes` of /proc/self/io (what this process sent to
 *   the storage layer: WAL frames and checkpoints) over the counted requests. The load generator is
 *   `fetch` in the same process and writes nothing to disk.
 * - bytes stored per audit entry: growth of the database file (after a TRUNCATE checkpoint) per read:
 *   the sealed AuditEvent, its record row and indexes, its rows in the AuditEvent index, its log
 *   entry and tiles. And what 10^8 of them (a year of a hospital's reads) take.
 *
 * The peer (Medplum 4.5.2 on PostgreSQL 15, issue 16): 61 KB written per create, nothing per read
 * (reads are served from its Redis cache and write no audit entry).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startSoloNode } from '../../test/support/start-solo-node.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const GROUP = 'fhir-audit-bytes';
const IN_FLIGHT = 16;
/** The peer's bytes written per create Patient (issue 16); it writes nothing per read. */
const PEER_BYTES_PER_CREATE = 61_000;
/** A year of a hospital's reads (issue 16 item 3). */
const YEAR_OF_READS = 1e8;
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
};
/** The peer comparison's create body (113 bytes). */
const PATIENT = JSON.stringify({
  resourceType: 'Patient',
  name: [{ family: 'Benchmark', given: ['Dana'] }],
  gender: 'female',
  birthDate: '1980-04-01',
});

function writeBytes(): number {
  const match = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (match === null) throw new Error('/proc/self/io has no write_bytes (Linux with task I/O accounting)');
  return Number(match[1]);
}

/** Runs `count` requests, IN_FLIGHT at a time; returns the bytes this process wrote per request. */
async function bytesPerRequest(count: number, send: (i: number) => Promise<Response>): Promise<number> {
  const before = writeBytes();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        const response = await send(i);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`request ${i}: ${response.status}`);
      }
    }),
  );
  return (writeBytes() - before) / count;
}

export const fhirAuditBytesGroup: Group = {
  name: GROUP,
  description:
    'Bytes written per read and per create, bytes stored per audit entry and for 10^8 of them, beside the peer (issue 16)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const creates = ctx.options.quick ? 300 : 1_000;
    const reads = ctx.options.quick ? 1_000 : 5_000;
    const solo = await startSoloNode();
    const cleanup = ctx.onInterrupt(() => solo.stop());
    try {
      const base = `${solo.node.url}/fhir`;
      const ids: string[] = [];
      ctx.progress(`${GROUP}: ${creates} creates`);
      const perCreate = await bytesPerRequest(creates, async () => {
        const response = await fetch(`${base}/Patient`, {
          method: 'POST',
          headers: { ...STAFF, 'content-type': 'application/fhir+json' },
          body: PATIENT,
        });
        const id = /\/Patient\/([^/]+)/.exec(response.headers.get('location') ?? '')?.[1];
        if (id !== undefined) ids.push(id);
        return response;
      });
      const read = (i: number) => fetch(`${base}/Patient/${ids[i % ids.length]}`, { headers: STAFF });
      await bytesPerRequest(200, read);
      const dbPath = join(solo.dir, 'solo', 'node.db');
      const db = new Database(dbPath);
      try {
        const size = (): number => {
          db.pragma('wal_checkpoint(TRUNCATE)');
          return statSync(dbPath).size;
        };
        const sizeBefore = size();
        ctx.progress(`${GROUP}: ${reads} reads`);
        const perRead = await bytesPerRequest(reads, read);
        const perEntry = (size() - sizeBefore) / reads;
        const { rows } = db
          .prepare('SELECT COUNT(*) * 1.0 / COUNT(DISTINCT log_index) AS rows FROM vault_audit_index')
          .get() as { rows: number };
        const figure = (id: string, label: string, value: number, unit: string, extra: Figure['extra']) =>
          ({ group: GROUP, id: `${GROUP}.${id}`, label, value, unit, extra, ratios: [] }) as Figure;
        return {
          figures: [
            figure('read.written', 'bytes written per read (16 in flight)', perRead / 1000, 'KB', {
              peer: '0 KB (no audit entry per read)',
              reads,
            }),
            figure(
              'create.written',
              'bytes written per create Patient (16 in flight)',
              perCreate / 1000,
              'KB',
              {
                peer: `${PEER_BYTES_PER_CREATE / 1000} KB`,
                ratioToPeer: Number((perCreate / PEER_BYTES_PER_CREATE).toFixed(2)),
                creates,
              },
            ),
            figure('audit.stored', 'bytes stored per audit entry (one read)', perEntry / 1000, 'KB', {
              indexRowsPerEntry: Number(rows.toFixed(2)),
              yearOfReadsGB: Number(((perEntry * YEAR_OF_READS) / 1e9).toFixed(0)),
            }),
          ],
          charts: [],
          notes: [
            `${GROUP}: 10^8 audit entries (a year of a hospital's reads) at ${(perEntry / 1000).toFixed(2)} KB each take ` +
              `${((perEntry * YEAR_OF_READS) / 1e9).toFixed(0)} GB with their indexes and log; the peer writes ` +
              `${PEER_BYTES_PER_CREATE / 1000} KB per create and nothing per read.`,
          ],
        };
      } finally {
        db.close();
      }
    } finally {
      cleanup();
      await solo.stop();
    }
  },
};
