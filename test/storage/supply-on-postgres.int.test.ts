/**
 * Issue 17 item 1 for the supply chain: a node started with CARELEDGER_DATABASE_URL keeps its EPCIS
 * events in PostgreSQL (schema version 6), where every process of the member sees them, and not in
 * the node's SQLite file (before, the supply store was always node.db, so a member's processes on two
 * machines each saw only the events captured through themselves).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSgtinUri } from '../../src/supply/gs1/index.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const STAFF = { 'x-careledger-identity': 'Practitioner/pharmacist-1', 'x-careledger-roles': 'clinician' };
const GTIN = '09506000134352';

describe('the supply chain on a node on PostgreSQL', () => {
  let server: TestPostgres;
  let solo: SoloNode;

  beforeAll(async () => {
    server = await startTestPostgres();
    solo = await startSoloNode({}, { databaseUrl: server.url });
  });
  afterAll(async () => {
    await solo?.stop();
    await server?.close();
  });

  it('captures and queries EPCIS events in PostgreSQL, not in the SQLite file', async () => {
    const epc = formatSgtinUri(GTIN, 'PG1');
    const captured = await solo.node.app.request('/epcis/capture', {
      method: 'POST',
      headers: { ...STAFF, 'content-type': 'application/ld+json' },
      body: JSON.stringify({
        '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
        type: 'EPCISDocument',
        schemaVersion: '2.0',
        creationDate: '2026-12-01T08:00:00Z',
        epcisBody: {
          eventList: [
            {
              type: 'ObjectEvent',
              eventTime: '2026-12-01T08:00:00.000Z',
              eventTimeZoneOffset: '+00:00',
              epcList: [epc],
              action: 'OBSERVE',
              bizStep: 'inspecting',
            },
          ],
        },
      }),
    });
    expect(captured.status).toBe(202);

    const query = await solo.node.app.request(`/epcis/events?MATCH_epc=${encodeURIComponent(epc)}`, {
      headers: STAFF,
    });
    expect(query.status).toBe(200);
    const document = (await query.json()) as {
      epcisBody: { queryResults: { resultsBody: { eventList: { bizStep: string }[] } } };
    };
    expect(document.epcisBody.queryResults.resultsBody.eventList).toMatchObject([{ bizStep: 'inspecting' }]);

    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      const events = await db.query('SELECT biz_step FROM epcis_events');
      expect(events.rows).toEqual([{ biz_step: 'inspecting' }]);
      const epcs = await db.query('SELECT role, epc FROM epcis_event_epcs');
      expect(epcs.rows).toEqual([{ role: 'epc', epc: `https://id.gs1.org/01/${GTIN}/21/PG1` }]);
      const schema = await db.query('SELECT MAX(version)::int AS v FROM careledger_schema');
      expect(schema.rows[0].v).toBeGreaterThanOrEqual(6);
    } finally {
      await db.end();
    }
    const file = new Database(join(solo.dir, 'solo', 'node.db'), { readonly: true });
    try {
      expect(file.prepare('SELECT COUNT(*) AS n FROM epcis_events').get()).toEqual({ n: 0 });
    } finally {
      file.close();
    }
  });
});
