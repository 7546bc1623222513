/**
 * The bulk load path (`careledger import` of bulk NDJSON in transaction Bundles, decision 0038) on
 * both storage adapters: a real member node on SQLite and one on a throw-away PostgreSQL, over real
 * HTTP. A line that is not JSON and a resource that is not valid R4 are each named by file and line;
 * the Bundle holding the invalid resource commits nothing (each of its good resources is then stored
 * once, as version 1); an interrupted import resumes without writing any resource twice; and every
 * reference of a bulk export's patient resolves after the load.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImportOptions, runImport } from '../../src/cli/commands/import.js';
import { BULK_DIR } from '../support/shared-data.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const STAFF = { 'x-careledger-identity': 'Practitioner/importer' };
/** Each test starts imports over real HTTP into a real node; on a loaded 2-core machine that takes a while. */
const SLOW = 300_000;

interface Stored {
  readonly meta?: { versionId?: string };
}

/** The bulk export's lines of one type. */
function bulkLines(type: string): string[] {
  return readFileSync(join(BULK_DIR, `${type}.000.ndjson`), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Every `Type/id` reference in a resource (relative references, as bulk NDJSON holds). */
function referencesOf(resource: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (
          key === 'reference' &&
          typeof child === 'string' &&
          /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+$/.test(child)
        )
          found.push(child);
        else walk(child);
      }
    }
  };
  walk(resource);
  return found;
}

describe.each(['sqlite', 'postgres'] as const)('bulk NDJSON import on %s', (adapter) => {
  let server: TestPostgres | undefined;
  let solo: SoloNode;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `careledger-bulk-import-${adapter}-`));
    server = adapter === 'postgres' ? await startTestPostgres() : undefined;
    solo = await startSoloNode({}, server === undefined ? {} : { databaseUrl: server.url });
  }, SLOW);

  afterAll(async () => {
    await solo?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  const options = (name: string, inputs: string[], more: Partial<ImportOptions> = {}): ImportOptions => ({
    inputs,
    nodeUrl: solo.node.url,
    reportFile: join(dir, `${name}-report.json`),
    stateFile: join(dir, `${name}-state.json`),
    identity: 'Practitioner/importer',
    quiet: true,
    ...more,
  });

  const read = async (reference: string): Promise<{ status: number; body: Stored }> => {
    const response = await solo.node.app.request(`/fhir/${reference}`, { headers: STAFF });
    return { status: response.status, body: (await response.json()) as Stored };
  };

  it(
    'names a line that is not JSON and an invalid resource by line; the refused Bundle commits nothing',
    async () => {
      const file = join(dir, 'Patient.malformed.ndjson');
      const patient = (id: string, more: Record<string, unknown> = {}) =>
        JSON.stringify({ resourceType: 'Patient', id, ...more });
      writeFileSync(
        file,
        [
          patient('mal-1'),
          patient('mal-2'),
          '{"resourceType":"Patient","id":"mal-3",', // line 3: cut off, not JSON
          patient('mal-4'),
          patient('mal-5', { birthDate: '1990-02-30' }), // line 5: no such date
          patient('mal-6'),
        ].join('\n'),
      );
      const { summary, failures } = await runImport(options('malformed', [file], { batchSize: 3 }));
      expect(summary).toMatchObject({ loaded: 4, failed: 2 });
      expect(failures).toEqual([
        expect.objectContaining({ file, line: 3, status: 0 }),
        expect.objectContaining({
          file,
          line: 5,
          resourceType: 'Patient',
          id: 'mal-5',
          status: 400,
          issues: expect.arrayContaining([expect.objectContaining({ expression: ['Patient.birthDate'] })]),
        }),
      ]);
      expect(JSON.stringify(failures[0]?.issues)).toMatch(/not JSON/);
      // The Bundle with mal-5 was refused whole; its good resources were then sent one by one. Had the
      // refused Bundle stored any of them, the second write would have made it version 2.
      for (const id of ['mal-1', 'mal-2', 'mal-4', 'mal-6']) {
        const stored = await read(`Patient/${id}`);
        expect(stored.status).toBe(200);
        expect(stored.body.meta?.versionId).toBe('1');
      }
      expect((await read('Patient/mal-5')).status).toBe(404);
      // The report names lines, never content.
      expect(readFileSync(join(dir, 'malformed-report.json'), 'utf8')).not.toContain('1990-02-30');
    },
    SLOW,
  );

  it(
    'resumes an interrupted import where it stopped, writing no resource twice',
    async () => {
      const lines = bulkLines('Encounter').slice(0, 40);
      const file = join(dir, 'Encounter.resume.ndjson');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const stop = new AbortController();
      const first = await runImport(
        options('resume', [file], {
          batchSize: 10,
          concurrency: 1,
          checkpointEvery: 10,
          signal: stop.signal,
          onSettled: (settled) => {
            if (settled >= 10) stop.abort();
          },
        }),
      );
      expect(first.summary.loaded).toBeGreaterThanOrEqual(10);
      expect(first.summary.loaded).toBeLessThan(40);
      const second = await runImport(options('resume', [file], { batchSize: 10, concurrency: 1 }));
      expect(second.summary.alreadyDone).toBe(first.summary.loaded);
      expect(first.summary.loaded + second.summary.loaded).toBe(40);
      for (const line of lines) {
        const { id } = JSON.parse(line) as { id: string };
        const stored = await read(`Encounter/${id}`);
        expect(stored.status).toBe(200);
        expect(stored.body.meta?.versionId).toBe('1');
      }
    },
    SLOW,
  );

  it(
    'loads one patient of a bulk export with what it refers to; every stored reference resolves',
    async () => {
      const [patientLine] = bulkLines('Patient');
      const patientId = (JSON.parse(patientLine as string) as { id: string }).id;
      // A few dozen of the patient's records, closed under their references: the first Encounters,
      // every record of the patient they refer to, then records of other types whose references all
      // point into that set, at the patient or at shared resources.
      const sharedTypes = ['Organization', 'Practitioner', 'Location', 'PractitionerRole'];
      const byRef = new Map<string, string>();
      for (const type of ['Encounter', 'Condition', 'Procedure', 'Immunization', 'MedicationRequest'])
        for (const line of bulkLines(type).filter((l) => l.includes(`"Patient/${patientId}"`)))
          byRef.set(`${type}/${(JSON.parse(line) as { id: string }).id}`, line);
      const chosen = new Map<string, string>();
      const closes = (line: string): boolean =>
        referencesOf(JSON.parse(line)).every(
          (r) =>
            r === `Patient/${patientId}` || sharedTypes.includes(r.split('/')[0] as string) || byRef.has(r),
        );
      const add = (ref: string): void => {
        const line = byRef.get(ref);
        if (line === undefined || chosen.has(ref)) return;
        chosen.set(ref, line);
        for (const r of referencesOf(JSON.parse(line))) add(r);
      };
      for (const ref of [...byRef.keys()].filter((r) => r.startsWith('Encounter/')).slice(0, 8))
        if (closes(byRef.get(ref) as string)) add(ref);
      for (const type of ['Condition', 'Procedure', 'Immunization', 'MedicationRequest']) {
        const more = [...byRef]
          .filter(([ref, line]) => ref.startsWith(`${type}/`) && !chosen.has(ref) && closes(line))
          .filter(([, line]) => referencesOf(JSON.parse(line)).every((r) => !byRef.has(r) || chosen.has(r)))
          .slice(0, 8);
        for (const [ref, line] of more) chosen.set(ref, line);
      }
      const own = [...chosen.values()];
      const wanted = new Set(own.flatMap((line) => referencesOf(JSON.parse(line))));
      const shared = ['Organization', 'Practitioner', 'Location', 'PractitionerRole'].flatMap((type) =>
        bulkLines(type).filter((line) => {
          const { resourceType, id } = JSON.parse(line) as { resourceType: string; id: string };
          return wanted.has(`${resourceType}/${id}`);
        }),
      );
      const folder = mkdtempSync(join(dir, 'one-patient-'));
      writeFileSync(join(folder, 'Patient.000.ndjson'), `${patientLine}\n`);
      writeFileSync(join(folder, 'Records.000.ndjson'), `${own.join('\n')}\n`);
      writeFileSync(join(folder, 'Shared.000.ndjson'), `${shared.join('\n')}\n`);
      const { summary } = await runImport(options('one-patient', [folder], { batchSize: 250 }));
      expect(summary).toMatchObject({ failed: 0, loaded: 1 + own.length + shared.length });
      expect(summary.skipped.total).toBe(0);
      expect(own.length).toBeGreaterThan(10);
      for (const reference of wanted) expect((await read(reference)).status, reference).toBe(200);
    },
    SLOW,
  );
});
