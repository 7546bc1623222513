/**
 * `npx tsx bench/read-path-probe.ts [reads]`: what one FHIR read and one create cost the node in CPU
 * time and in bytes written to disk, and what one AuditEvent costs in stored bytes (issue 16 item 2).
 * Starts a solo node in this process (embedded chain, all protections on), creates Observations, then
 * reads them with 16 requests in flight from this process's fetch. Prints JSON.
 *
 * - cpuMsPerRequest: process CPU (user + system, `process.cpuUsage`) per answer; the client's share
 *   (fetch in the same process) is included, so compare figures of this script with each other only.
 * - writeBytesPerRequest: `write_bytes` of /proc/self/io (bytes this process caused to be sent to the
 *   storage layer: WAL appends and checkpoints) per answer.
 * - bytesPerAuditEvent: growth of the database (main file after a TRUNCATE checkpoint) per read,
 *   with the rows of its AuditEvent: record row, index rows, log entry and tiles.
 * - indexRowsPerAuditEvent: rows per AuditEvent in its index (vault_audit_index, decision 0039).
 *
 * With CARELEDGER_PROBE_PROFILE=<file>, a CPU profile of the measured reads (this process's main
 * thread: the node and the fetch client) is written there.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startSoloNode } from '../test/support/start-solo-node.js';
import { startCpuProfile } from './cpu-profile.js';

const READS = Number(process.argv[2] ?? 3000);
const IN_FLIGHT = 16;
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
};

function writeBytes(): number {
  const match = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(match?.[1] ?? Number.NaN);
}

async function run(
  count: number,
  request: (i: number) => Promise<Response>,
): Promise<{
  seconds: number;
  cpuMsPerRequest: number;
  writeBytesPerRequest: number;
}> {
  const cpu = process.cpuUsage();
  const written = writeBytes();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        const response = await request(i);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`request ${i}: ${response.status}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    seconds,
    cpuMsPerRequest: (used.user + used.system) / 1000 / count,
    writeBytesPerRequest: (writeBytes() - written) / count,
  };
}

const solo = await startSoloNode();
try {
  const base = `${solo.node.url}/fhir`;
  const dbPath = join(solo.dir, 'solo', 'node.db');
  const post = (type: string, body: unknown) =>
    fetch(`${base}/${type}`, {
      method: 'POST',
      headers: { ...STAFF, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    });
  const patient = (await (
    await post('Patient', { resourceType: 'Patient', name: [{ family: 'Probe' }] })
  ).json()) as {
    id: string;
  };
  const ids: string[] = [];
  const creates = await run(500, async (i) => {
    const response = await post('Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: {
        value: 60 + (i % 40),
        unit: '/min',
        system: 'http://unitsofmeasure.org',
        code: '/min',
      },
    });
    const location = response.headers.get('location') ?? '';
    const id = /\/Observation\/([^/]+)/.exec(location)?.[1];
    if (id !== undefined) ids.push(id);
    return response;
  });
  // Warm-up reads, then the measured ones.
  await run(300, (i) => fetch(`${base}/Observation/${ids[i % ids.length]}`, { headers: STAFF }));
  const db = new Database(dbPath);
  const size = (): number => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    return statSync(dbPath).size;
  };
  const sizeBefore = size();
  const profileFile = process.env.CARELEDGER_PROBE_PROFILE;
  const stopProfile = profileFile === undefined ? undefined : await startCpuProfile();
  const reads = await run(READS, (i) =>
    fetch(`${base}/Observation/${ids[i % ids.length]}`, { headers: STAFF }),
  );
  if (stopProfile !== undefined && profileFile !== undefined)
    writeFileSync(profileFile, JSON.stringify(await stopProfile()));
  const sizeAfter = size();
  const rows = db
    .prepare(`SELECT COUNT(*) * 1.0 / COUNT(DISTINCT log_index) AS perEvent FROM vault_audit_index`)
    .get() as { perEvent: number };
  const auditBytes = db
    .prepare(`SELECT AVG(LENGTH(ciphertext)) AS bytes FROM vault_records WHERE resource_type = 'AuditEvent'`)
    .get() as { bytes: number };
  db.close();
  process.stdout.write(
    `${JSON.stringify(
      {
        reads: READS,
        inFlight: IN_FLIGHT,
        read: { ...reads, requestsPerSecond: READS / reads.seconds },
        createObservation: { ...creates, requestsPerSecond: 500 / creates.seconds },
        bytesPerAuditEvent: (sizeAfter - sizeBefore) / READS,
        sealedAuditEventBytes: auditBytes.bytes,
        indexRowsPerAuditEvent: rows.perEvent,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await solo.stop();
}
