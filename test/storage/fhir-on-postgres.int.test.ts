/**
 * Issue 17 item 1, end to end: a node started with CARELEDGER_DATABASE_URL on a throw-away PostgreSQL
 * serves FHIR create, read, search and history, with each access's AuditEvent provable against its
 * signed log; when the database goes away mid-flight, requests get 503 with Retry-After, and once it
 * is back everything acknowledged before is still there.
 */

import { join } from 'node:path';
import type { AuditEvent, Bundle, Patient } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTlogProof, parseVerifierKey, verifyTlogProof } from '../../src/log/index.js';
import { LOG_ENTRY_EXTENSION, verifyAuditEventCommitment } from '../../src/vault/fhir-repository.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const doctor = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };

describe('a node on PostgreSQL', () => {
  let server: TestPostgres;
  let solo: SoloNode;
  const fhir = (path: string, init: RequestInit = {}, who: Record<string, string> = doctor) =>
    solo.node.app.request(`/fhir${path}`, {
      ...init,
      headers: { ...who, ...(init.headers as Record<string, string>) },
    });
  const post = (resource: object) =>
    fhir(`/${(resource as { resourceType: string }).resourceType}`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });

  beforeAll(async () => {
    server = await startTestPostgres();
    solo = await startSoloNode({}, { databaseUrl: server.url });
  });
  afterAll(async () => {
    await solo?.stop();
    await server?.close();
  });

  it('keeps records, search index, history and the log in PostgreSQL, not in the SQLite file', async () => {
    const created = await post({
      resourceType: 'Patient',
      name: [{ family: 'Postgres', given: ['Ada'] }],
      gender: 'female',
    });
    expect(created.status).toBe(201);
    const patient = (await created.json()) as Patient & { id: string };
    const updated = await fhir(`/Patient/${patient.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"1"' },
      body: JSON.stringify({ ...patient, birthDate: '1970-05-06' }),
    });
    expect(updated.status).toBe(200);
    expect((await (await fhir(`/Patient/${patient.id}`)).json()) as Patient).toMatchObject({
      birthDate: '1970-05-06',
      meta: { versionId: '2' },
    });
    const found = (await (await fhir('/Patient?family=postgres')).json()) as Bundle;
    expect(found.entry?.map((e) => e.resource?.id)).toEqual([patient.id]);
    const history = (await (await fhir(`/Patient/${patient.id}/_history`)).json()) as Bundle;
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);

    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      const rows = await db.query('SELECT version_id FROM vault_records WHERE id = $1 ORDER BY version_id', [
        patient.id,
      ]);
      expect(rows.rows.map((r) => r.version_id)).toEqual([1, 2]);
      const leaves = await db.query('SELECT COUNT(*)::int AS n FROM log_leaves');
      expect(leaves.rows[0].n).toBeGreaterThanOrEqual(4);
      const schema = await db.query('SELECT MAX(version) AS v FROM careledger_schema');
      expect(schema.rows[0].v).toBeGreaterThanOrEqual(1);
    } finally {
      await db.end();
    }
    const file = new Database(join(solo.dir, 'solo', 'node.db'), { readonly: true });
    try {
      expect(file.prepare('SELECT COUNT(*) AS n FROM vault_records').get()).toEqual({ n: 0 });
      expect(file.prepare('SELECT COUNT(*) AS n FROM log_leaves').get()).toEqual({ n: 0 });
    } finally {
      file.close();
    }

    // The patient's access history: each AuditEvent's log entry, proven against a signed checkpoint.
    await solo.node.sequencer?.log.checkpoint();
    const trail = (await (
      await fhir(
        `/AuditEvent?patient=${patient.id}&_count=50`,
        {},
        { 'x-careledger-identity': `Patient/${patient.id}` },
      )
    ).json()) as { entry: { resource: AuditEvent }[] };
    expect(trail.entry.length).toBeGreaterThanOrEqual(4);
    for (const { resource } of trail.entry) {
      const ext = resource.extension?.find((e) => e.url === LOG_ENTRY_EXTENSION);
      const proofPath = ext?.extension?.find((e) => e.url === 'proof')?.valueUrl as string;
      const proof = await solo.node.app.request(proofPath);
      expect(proof.status).toBe(200);
      const parsed = parseTlogProof(await proof.text());
      verifyTlogProof(parsed, { logVerifier: parseVerifierKey(solo.logVerifierKey) });
      verifyAuditEventCommitment(resource, parsed.extra as Uint8Array);
    }
  });

  it('answers 503 with Retry-After while the database is down, and loses nothing acknowledged', async () => {
    const before = (await (
      await post({ resourceType: 'Patient', name: [{ family: 'Durable' }] })
    ).json()) as { id: string };
    await server.crash();
    const read = await fhir(`/Patient/${before.id}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('2');
    expect(((await read.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const write = await post({ resourceType: 'Patient', name: [{ family: 'Refused' }] });
    expect(write.status).toBe(503);
    expect(write.headers.get('retry-after')).toBe('2');

    await server.start();
    expect(((await (await fhir(`/Patient/${before.id}`)).json()) as Patient).name?.[0]?.family).toBe(
      'Durable',
    );
    const again = await post({ resourceType: 'Patient', name: [{ family: 'After' }] });
    expect(again.status).toBe(201);
    const search = (await (await fhir('/Patient?family=refused')).json()) as Bundle;
    expect(search.entry ?? []).toEqual([]);
  });
});
