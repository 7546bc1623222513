/**
 * Issue 17 item 1: the operator's commands against a node whose stores are on PostgreSQL.
 * `careledger patient erase` and `careledger log audit` talk to the node over HTTP (the admin route
 * and the tlog-tiles routes, the ledger for keys and anchors); neither opens a database, so they work
 * the same on either adapter. This runs both, as the CLI does, against a node on a throw-away
 * PostgreSQL, and checks the erasure happened in PostgreSQL and the audit read the log kept there.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLogAudit } from '../../src/cli/commands/log-audit.js';
import { registerPatientCommands } from '../../src/cli/commands/patient-erase.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };

/** Runs `careledger <args>` with the patient commands, capturing what it prints. */
async function careledger(args: string[]): Promise<string> {
  const program = new Command().option('--data-dir <dir>').exitOverride();
  registerPatientCommands(program);
  const printed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'careledger', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return printed.join('');
}

describe('operator commands against a node on PostgreSQL', () => {
  let server: TestPostgres;
  let solo: SoloNode;
  let sql: pg.Client;

  beforeAll(async () => {
    server = await startTestPostgres();
    solo = await startSoloNode({}, { databaseUrl: server.url });
    sql = new pg.Client({ connectionString: server.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await solo?.stop();
    await server?.close();
  });

  const create = async (resource: { resourceType: string; [field: string]: unknown }) => {
    const response = await solo.node.app.request(`/fhir/${resource.resourceType}`, {
      method: 'POST',
      headers: clinician,
      body: JSON.stringify(resource),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string };
  };
  const status = async (path: string) =>
    (await solo.node.app.request(`/fhir${path}`, { headers: clinician })).status;

  it('`patient erase` destroys the patient keys in PostgreSQL: 410 Gone, out of search', async () => {
    const { id } = await create({ resourceType: 'Patient', name: [{ family: 'Erasable' }] });
    const obs = await create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'pulse' },
      subject: { reference: `Patient/${id}` },
    });
    const keysOf = async () =>
      (await sql.query('SELECT COUNT(*)::int AS n FROM vault_data_keys WHERE patient_id = $1', [id])).rows[0]
        .n as number;
    expect(await keysOf()).toBeGreaterThanOrEqual(1);

    const tokenFile = join(solo.dir, 'solo', 'admin.token');
    const printed = await careledger([
      '--data-dir',
      solo.dir,
      'patient',
      'erase',
      id,
      '--url',
      solo.node.url,
      '--token-file',
      tokenFile,
      '--yes',
      '--json',
    ]);
    expect(JSON.parse(printed)).toMatchObject({ patient: `Patient/${id}`, alreadyErased: false });
    expect(await keysOf()).toBe(0);
    expect(await status(`/Patient/${id}`)).toBe(410);
    expect(await status(`/Observation/${obs.id}`)).toBe(410);
    const found = await solo.node.app.request('/fhir/Patient?family=Erasable&_total=accurate', {
      headers: clinician,
    });
    expect(((await found.json()) as { total: number }).total).toBe(0);
    const again = await careledger([
      'patient',
      'erase',
      id,
      '--url',
      solo.node.url,
      '--token-file',
      tokenFile,
      '--yes',
      '--json',
    ]);
    expect(JSON.parse(again)).toMatchObject({ alreadyErased: true });

    // Nothing of it went to the SQLite file the node still opens.
    const file = new Database(join(solo.dir, 'solo', 'node.db'), { readonly: true });
    try {
      expect(file.prepare('SELECT COUNT(*) AS n FROM vault_data_keys').get()).toEqual({ n: 0 });
      expect(file.prepare('SELECT COUNT(*) AS n FROM log_leaves').get()).toEqual({ n: 0 });
    } finally {
      file.close();
    }
  });

  it('`log audit` checks every entry of the log kept in PostgreSQL against its key on the ledger', async () => {
    await create({ resourceType: 'Patient', name: [{ family: 'Audited' }] });
    await solo.node.sequencer?.log.checkpoint();
    const leaves = (await sql.query('SELECT COUNT(*)::int AS n FROM log_leaves')).rows[0].n as number;
    const printed: string[] = [];
    const sink = {
      write: (text: string) => {
        printed.push(text);
        return true;
      },
    };
    const report = await runLogAudit(
      {
        nodeUrl: solo.node.url,
        dataDir: solo.dir,
        rpcUrl: solo.chain.rpcUrl,
        deployment: join(solo.dir, 'deployment.json'),
        json: true,
        quiet: true,
      },
      { stdout: sink, stderr: sink },
    );
    expect(report).toMatchObject({ ok: true, origin: solo.logOrigin, problems: [] });
    // The checkpoint the node serves covers what PostgreSQL holds when it was signed.
    expect(report.size).toBeGreaterThanOrEqual(4);
    expect(report.size).toBeLessThanOrEqual(leaves);
    expect(report.entriesChecked).toBe(report.size);
    expect(JSON.parse(printed.join(''))).toMatchObject({ ok: true, size: report.size });
  });
});
