/**
 * `careledger import` against one real member node (in-process, on a real port, over a real anvil
 * chain): Synthea transaction Bundles and bulk-data NDJSON load whole (the node serves every R4 type)
 * with their references rewritten, conditional references resolved, and every stored reference
 * resolving; a re-run sends nothing, an interrupted run resumes without writing any resource twice,
 * and a malformed resource is reported with its line and FHIRPath.
 */
import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImportOptions, runImport } from '../../src/cli/commands/import.js';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import type { RunningNode } from '../../src/node/start-node.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { BULK_DIR, SYNTHEA_DIR } from '../support/shared-data.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

// The shared synthetic test data (see its SOURCE.md): Synthea bundles and a bulk-data export.
const SYNTHEA = SYNTHEA_DIR;
const BULK = BULK_DIR;

const dir = mkdtempSync(join(tmpdir(), 'careledger-import-'));
const served: ReadonlySet<string> = new Set(SUPPORTED_RESOURCE_TYPES);
const bundles = readdirSync(SYNTHEA)
  .filter((f) => f.endsWith('.json'))
  .sort();
let solo: SoloNode;
let node: RunningNode;

beforeAll(async () => {
  solo = await startSoloNode();
  node = solo.node;
});

afterAll(async () => {
  await solo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A folder holding copies of the given files (so each test has its own inputs and state). */
function inputsFolder(name: string, files: readonly string[]): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (const file of files) copyFileSync(file, join(folder, file.slice(file.lastIndexOf('/') + 1)));
  return folder;
}

/** Resource counts per type, counted straight from the input files. */
function countTypes(files: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (type: string) => {
    counts[type] = (counts[type] ?? 0) + 1;
  };
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.ndjson')) {
      for (const line of text.split('\n'))
        if (line.trim() !== '') add((JSON.parse(line) as { resourceType: string }).resourceType);
    } else {
      for (const e of (JSON.parse(text) as { entry: { resource: { resourceType: string } }[] }).entry)
        add(e.resource.resourceType);
    }
  }
  return counts;
}

function split(counts: Record<string, number>) {
  const entries = Object.entries(counts);
  return {
    total: entries.reduce((n, [, c]) => n + c, 0),
    supported: entries.filter(([t]) => served.has(t)).reduce((n, [, c]) => n + c, 0),
    unsupported: Object.fromEntries(entries.filter(([t]) => !served.has(t)).sort()),
  };
}

const options = (name: string, inputs: string[], more: Partial<ImportOptions> = {}): ImportOptions => ({
  inputs,
  nodeUrl: node.url,
  reportFile: join(dir, `${name}-report.json`),
  stateFile: join(dir, `${name}-state.json`),
  quiet: true,
  ...more,
});

const reader = { 'x-careledger-identity': 'Practitioner/test', 'x-careledger-purpose': 'TREAT' };

async function read(path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${node.url}/fhir/${path}`, { headers: reader });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('careledger import', () => {
  const files = [
    ...bundles.slice(0, 2).map((f) => join(SYNTHEA, f)),
    join(BULK, 'Device.000.ndjson'),
    join(BULK, 'Immunization.000.ndjson'),
  ];

  it('loads every resource of 2 Synthea bundles and 2 NDJSON files, skipping nothing', async () => {
    const folder = inputsFolder('first', files);
    const expected = split(countTypes(files));
    const { summary, failures } = await runImport(options('first', [folder]));

    expect(failures).toEqual([]);
    expect(summary).toMatchObject({
      files: 4,
      resources: expected.total,
      alreadyDone: 0,
      loaded: expected.supported,
      created: expected.supported,
      updated: 0,
      failed: 0,
      interrupted: false,
      unresolvedReferences: 0,
      skipped: { reason: 'type not served by this node', total: expected.total - expected.supported },
    });
    expect(summary.skipped.byType).toEqual(expected.unsupported);
    expect(expected.unsupported).toEqual({});
    expect(summary.skipped.total).toBe(0);
    // Immunization lines refer to Location?identifier=…, and no Location is imported or stored: those
    // are sent as they are, and counted.
    expect(summary.conditionalReferences).toBeGreaterThan(0);
    expect(summary.resolvedConditionalReferences).toBe(0);
    // Resources go 100 to a transaction Bundle; only the 161 Immunizations, whose conditional
    // references to a Location stay unresolved, go one PUT each. A node under load may shed a request
    // (503/429 with Retry-After), which the importer sends again: that is a retry, not a failure.
    expect(summary.requests - summary.retries).toBeLessThan(expected.supported / 4);
    expect(JSON.parse(readFileSync(summary.reportFile, 'utf8'))).toMatchObject({ failures: [] });

    // References were rewritten: an Observation of the first bundle points at that bundle's Patient.
    const bundle = JSON.parse(readFileSync(files[0] as string, 'utf8')) as {
      entry: { fullUrl: string; resource: { resourceType: string } }[];
    };
    const patientId = bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.fullUrl.slice(9);
    const observationId = bundle.entry
      .find((e) => e.resource.resourceType === 'Observation')
      ?.fullUrl.slice('urn:uuid:'.length);
    const observation = await read(`Observation/${observationId}`);
    expect(observation.subject).toMatchObject({ reference: `Patient/${patientId}` });
    expect(JSON.stringify(observation)).not.toContain('urn:uuid:');
    expect(observation.meta).toMatchObject({ versionId: '1' });

    // A re-run finds everything done in the state file and sends nothing.
    const again = await runImport(options('first', [folder]));
    expect(again.summary).toMatchObject({
      alreadyDone: expected.total,
      loaded: 0,
      failed: 0,
      requests: 0,
      skipped: { total: 0 },
    });
  }, 240_000);

  it('resumes an interrupted import where it stopped, writing no resource twice', async () => {
    const resumeFiles = bundles.slice(3, 5).map((f) => join(SYNTHEA, f));
    const folder = inputsFolder('resume', resumeFiles);
    const expected = split(countTypes(resumeFiles));
    const stop = new AbortController();
    const first = await runImport(
      options('resume', [folder], {
        signal: stop.signal,
        checkpointEvery: 50,
        batchSize: 10,
        onSettled: (n) => {
          if (n === 120) stop.abort();
        },
      }),
    );
    expect(first.summary.interrupted).toBe(true);
    const processedFirst = first.summary.loaded + first.summary.skipped.total;
    // Requests in flight when the signal came are finished and recorded, not abandoned.
    expect(processedFirst).toBeGreaterThanOrEqual(120);
    expect(processedFirst).toBeLessThan(expected.total);
    expect(first.summary.remaining).toBe(expected.total - processedFirst);

    const second = await runImport(options('resume', [folder]));
    expect(second.summary).toMatchObject({
      interrupted: false,
      failed: 0,
      alreadyDone: processedFirst,
      // Every PUT of the resumed run created its resource: none existed, so no second version.
      updated: 0,
    });
    expect(first.summary.loaded + second.summary.loaded).toBe(expected.supported);
    expect(second.summary.retries).toBe(0);
    expect(second.summary.requests).toBe(Math.ceil(second.summary.loaded / 100));

    const bundle = JSON.parse(readFileSync(resumeFiles[0] as string, 'utf8')) as {
      entry: { fullUrl: string; resource: { resourceType: string } }[];
    };
    const patientId = bundle.entry[0]?.fullUrl.slice('urn:uuid:'.length);
    expect(await read(`Patient/${patientId}`)).toMatchObject({ meta: { versionId: '1' } });
  });

  it('retries a 503 (Retry-After) and a connection error, then loads', async () => {
    const file = join(dir, 'retry.ndjson');
    writeFileSync(file, `${JSON.stringify({ resourceType: 'Patient', id: 'retry-1', gender: 'female' })}\n`);
    let puts = 0;
    const flaky: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT') {
        puts++;
        if (puts === 1)
          return new Response('{"resourceType":"OperationOutcome","issue":[]}', {
            status: 503,
            headers: { 'retry-after': '1' },
          });
        if (puts === 2) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
      return fetch(input, init);
    };
    const waits: number[] = [];
    const { summary } = await runImport(
      options('retry', [file], {
        fetch: flaky,
        sleep: async (ms) => {
          waits.push(ms);
        },
      }),
    );
    expect(summary).toMatchObject({ loaded: 1, failed: 0, retries: 2, requests: 3 });
    expect(waits).toEqual([1000, 500]);

    // --restart ignores the state: the resource is sent again, and the node stores a second version.
    const again = await runImport(options('retry', [file], { restart: true }));
    expect(again.summary).toMatchObject({ alreadyDone: 0, loaded: 1, updated: 1, requests: 1 });
  });

  it('reports a malformed resource with its line and FHIRPath, does not retry it, and exits 65', async () => {
    const file = join(dir, 'malformed.ndjson');
    writeFileSync(
      file,
      [
        JSON.stringify({ resourceType: 'Patient', id: 'ok-1' }),
        '',
        JSON.stringify({ resourceType: 'Patient', id: 'bad-1', birthDate: '1990-02-30' }),
        JSON.stringify({ resourceType: 'Patient', id: 'ok-2' }),
      ].join('\n'),
    );
    const dataDir = join(dir, 'cli-data');
    const { code, stdout, stderr } = await careledger(
      '--data-dir',
      dataDir,
      'import',
      file,
      '--node',
      node.url,
      '--json',
      '--quiet',
    );
    expect(code).toBe(65);
    expect(stderr).toMatch(/^careledger: 1 resource\(s\) failed; see .*import-report\.json\n$/);
    // The Bundle of the three is refused for the one bad resource; each is then sent on its own.
    expect(JSON.parse(stdout)).toMatchObject({ loaded: 2, failed: 1, requests: 4 });
    const report = JSON.parse(readFileSync(join(dataDir, 'import-report.json'), 'utf8')) as {
      failures: { line: number; resourceType: string; id: string; status: number; issues: unknown[] }[];
    };
    expect(report.failures).toEqual([
      expect.objectContaining({
        file,
        line: 3,
        resourceType: 'Patient',
        id: 'bad-1',
        status: 400,
        issues: expect.arrayContaining([expect.objectContaining({ expression: ['Patient.birthDate'] })]),
      }),
    ]);
    // The report holds no resource content (PHI): not the birth date that was refused.
    expect(readFileSync(join(dataDir, 'import-report.json'), 'utf8')).not.toContain('1990-02-30');
  });

  it('on Ctrl-C finishes the requests in flight, saves its state and exits 130; the re-run resumes', async () => {
    // The first 700 Encounters of the export (of 1,215): the state is saved after 200, and batches of 100
    // are still to be sent when the interrupt lands; the resume sends the rest (less to send, same checks).
    const encounters = 700;
    const folder = join(dir, 'sigint');
    mkdirSync(folder, { recursive: true });
    const lines = readFileSync(join(BULK, 'Encounter.000.ndjson'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, encounters);
    expect(lines).toHaveLength(encounters);
    writeFileSync(join(folder, 'Encounter.000.ndjson'), `${lines.join('\n')}\n`);
    const dataDir = join(dir, 'sigint-data');
    const stateFile = join(dataDir, 'import-state.json');
    const args = [...cliNodeArgs(), '--data-dir', dataDir, 'import', folder, '--node', node.url];
    const child = spawn(process.execPath, [...args, '--concurrency', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The state is first saved after 200 resources: interrupt once it exists.
    while (!existsSync(stateFile) && child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout).toMatch(/^Interrupted 1 file\(s\)/);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      files: { count: number; done: number[][] }[];
    };
    const done = state.files[0]?.done ?? [];
    expect(done).toHaveLength(1);
    const processed = (done[0]?.[1] ?? 0) - (done[0]?.[0] ?? 0);
    expect(processed).toBeGreaterThanOrEqual(200);
    expect(processed).toBeLessThan(state.files[0]?.count ?? 0);

    const resumed = await careledger('--data-dir', dataDir, 'import', folder, '--node', node.url, '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      alreadyDone: processed,
      loaded: encounters - processed,
      updated: 0,
      failed: 0,
    });
  }, 240_000);

  it('imports a whole Synthea bundle and one patient of a bulk export: nothing skipped, every stored reference resolves', async () => {
    const bundleFile = join(SYNTHEA, bundles[5] as string);
    // One patient of the bulk export (the one with fewest records) and the directory its records
    // name through conditional references (Practitioner?identifier=…, Organization?…, Location?…).
    const bulk = join(dir, 'one-patient');
    mkdirSync(bulk, { recursive: true });
    const patientId = '63ee2253-bdd5-da55-2ad2-b4984d0ad700';
    const directory = new Set(['Location', 'Organization', 'Practitioner', 'PractitionerRole']);
    for (const file of readdirSync(BULK).filter((f) => f.endsWith('.000.ndjson'))) {
      const lines = readFileSync(join(BULK, file), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .filter((line) => {
          const resource = JSON.parse(line) as { resourceType: string; id: string };
          if (directory.has(resource.resourceType)) return true;
          if (resource.resourceType === 'Patient') return resource.id === patientId;
          return line.includes(`"Patient/${patientId}"`);
        });
      if (lines.length > 0) writeFileSync(join(bulk, file), `${lines.join('\n')}\n`);
    }
    const inputs = [bundleFile, ...readdirSync(bulk).map((f) => join(bulk, f))];
    // Earlier tests stored other patients' records, and some of this patient's (the bulk Encounter and
    // Immunization files): only this import's records are checked, and some are updates.
    const imported = new Set<string>();
    for (const file of inputs) {
      const text = readFileSync(file, 'utf8');
      const resources = file.endsWith('.ndjson')
        ? text
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line))
        : (JSON.parse(text) as { entry: { resource: unknown }[] }).entry.map((e) => e.resource);
      for (const r of resources as { resourceType: string; id: string }[])
        imported.add(`${r.resourceType}/${r.id}`);
    }
    const counts = countTypes(inputs);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const { summary, failures } = await runImport(options('whole', [bundleFile, bulk]));
    expect(failures).toEqual([]);
    expect(summary).toMatchObject({
      resources: total,
      loaded: total,
      failed: 0,
      skipped: { total: 0 },
      unresolvedReferences: 0,
      conditionalReferences: 0,
    });
    expect(summary.resolvedConditionalReferences).toBeGreaterThan(0);
    // Types the node refused before it served all of R4.
    expect(Object.keys(counts)).toEqual(
      expect.arrayContaining(['Claim', 'ExplanationOfBenefit', 'Location']),
    );

    // What the node stored, read back by type, and every reference in it.
    const stored = new Set<string>();
    const references = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (typeof value === 'object' && value !== null)
        for (const [key, child] of Object.entries(value))
          if (key === 'reference' && typeof child === 'string') references.add(child);
          else collect(child);
    };
    for (const type of Object.keys(counts)) {
      let next: string | undefined = `${node.url}/fhir/${type}?_count=1000`;
      while (next !== undefined) {
        const response = await fetch(next, { headers: reader });
        expect(response.status).toBe(200);
        const searchset = (await response.json()) as {
          entry?: { resource: { resourceType: string; id: string; contained?: unknown } }[];
          link?: { relation: string; url: string }[];
        };
        for (const { resource } of searchset.entry ?? []) {
          const key = `${resource.resourceType}/${resource.id}`;
          stored.add(key);
          if (!imported.has(key)) continue;
          const { contained: _inside, ...rest } = resource;
          collect(rest);
        }
        next = searchset.link?.find((l) => l.relation === 'next')?.url;
      }
    }
    expect([...imported].filter((key) => !stored.has(key))).toEqual([]);
    expect(imported.size).toBe(total);
    const unresolved = [...references].filter(
      (reference) => !reference.startsWith('#') && !stored.has(reference),
    );
    expect(unresolved).toEqual([]);
    expect(references.size).toBeGreaterThan(100);
  }, 240_000);

  it('has --help with an example', async () => {
    const { code, stdout } = await careledger('import', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: careledger import/);
    expect(stdout).toContain('$ careledger import ./synthea-r4 --node http://127.0.0.1:8701');
  });
});

/** The real CLI in a child process; asynchronous, since the node it talks to runs in this process. */
async function careledger(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...cliNodeArgs(), ...args], {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, CARELEDGER_CHAIN_RPC_URL: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}
