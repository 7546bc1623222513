/**
 * FHIR create and read at --workers 1 and --workers 2 (decision 0014): one solo member on a real
 * anvil, started as `careledger node start --workers N` in its own process tree, loaded over HTTP from
 * a worker thread of this process (bench/http-load.ts) at 16 keep-alive connections.
 *
 *   npx tsx bench/workers-probe.ts [--workers 1,2] [--seconds 5] [--connections 16]
 *
 * Create is an Observation of one patient (sealed, validated, logged, audited, group-committed by the
 * one sequencer); read is a GET of the created Observations in turn. Prints req/s per worker count.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '../test/support/free-port.js';
import { prepareSoloNode } from '../test/support/start-solo-node.js';
import { startHttpLoad } from './http-load.js';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
  'content-type': 'application/fhir+json',
};

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

function startMember(nodeDir: string, workers: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'node', 'start', '--dir', nodeDir, '--workers', String(workers)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let listening = 0;
    const onData = (chunk: Buffer) => {
      listening += chunk.toString().split('listening on').length - 1;
      if (listening >= workers) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`node start exited (${code})`)));
  });
}

async function measure(workers: number, seconds: number, connections: number) {
  const port = await findFreePort();
  const folder = await prepareSoloNode({ port });
  const member = await startMember(folder.nodeDir, workers);
  const origin = `http://127.0.0.1:${port}`;
  const load = await startHttpLoad();
  try {
    const patient = await fetch(`${origin}/fhir/Patient`, {
      method: 'POST',
      headers: STAFF,
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench' }] }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const observation = JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value: 5.4, unit: 'mmol/L' },
    });
    const common = {
      origin,
      connections,
      warmupMs: 1000,
      durationMs: seconds * 1000,
      connectPath: '/health',
    };
    const create = await load.run({
      ...common,
      method: 'POST',
      paths: ['/fhir/Observation'],
      headers: STAFF,
      body: observation,
      collectLocations: true,
    });
    const paths = create.locations.map((l) => new URL(l, origin).pathname.replace(/\/_history\/\d+$/, ''));
    const read = await load.run({ ...common, method: 'GET', paths, headers: STAFF });
    return {
      workers,
      createPerSecond: create.ok / create.seconds,
      createErrors: create.errors,
      readPerSecond: read.ok / read.seconds,
      readErrors: read.errors,
    };
  } finally {
    await load.close();
    member.kill('SIGTERM');
    await new Promise((r) => member.once('exit', r));
    await folder.chain.stop();
    rmSync(folder.dir, { recursive: true, force: true });
  }
}

const counts = option('workers', '1,2').split(',').map(Number);
const seconds = Number(option('seconds', '5'));
const connections = Number(option('connections', '16'));
for (const workers of counts) {
  const r = await measure(workers, seconds, connections);
  process.stdout.write(
    `workers ${r.workers}: create ${r.createPerSecond.toFixed(0)} req/s (${r.createErrors} errors), ` +
      `read ${r.readPerSecond.toFixed(0)} req/s (${r.readErrors} errors), ${connections} connections\n`,
  );
}
