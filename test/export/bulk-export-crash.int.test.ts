/**
 * Jobs survive a crash: a member node run as its own process (`careledger node start`) is SIGKILLed
 * right after accepting an export; started again, it runs the job (again, if it was running) and the
 * manifest lists every record. The test waits on the node's own log lines, never on a timer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliNodeArgs } from '../support/cli-entry.js';
import { findFreePort } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
let solo: SoloNode;
let base: string;
let child: ChildProcess | undefined;
const PATIENTS = 6;

/** Starts the node as a process; resolves once it listens. `lines` receives its log. */
function startChild(lines: string[]): Promise<ChildProcess> {
  const started = spawn(
    process.execPath,
    [...cliNodeArgs(), 'node', 'start', '--dir', join(solo.dir, 'solo')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        lines.push(line);
        if (line.includes('listening on')) resolve(started);
      }
    };
    started.stdout?.on('data', onData);
    started.stderr?.on('data', onData);
    started.once('exit', (code) =>
      reject(new Error(`the node exited (${code}): ${lines.slice(-5).join(' | ')}`)),
    );
  });
}

/** Resolves when a log line matching `pattern` arrives (or has arrived). */
function logLine(lines: string[], process: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const found = lines.find((l) => pattern.test(l));
    if (found !== undefined) return resolve(found);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (pattern.test(line)) resolve(line);
    };
    process.stdout?.on('data', onData);
    process.stderr?.on('data', onData);
  });
}

beforeAll(async () => {
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  solo = await startSoloNode({ port, publicUrl: base });
  for (let i = 0; i < PATIENTS; i++) {
    const created = await solo.node.app.request('/fhir/Patient', {
      method: 'POST',
      headers: { ...STAFF, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Crash${i}` }] }),
    });
    expect(created.status).toBe(201);
  }
  // From here on the node runs as a process of its own.
  await solo.node.close();
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await solo?.chain.stop();
  if (solo !== undefined) rmSync(solo.dir, { recursive: true, force: true });
});

describe('bulk $export across a crash', () => {
  it('runs an accepted job to completion after a SIGKILL', async () => {
    const first: string[] = [];
    child = await startChild(first);
    const kicked = await fetch(`${base}/fhir/$export?_type=Patient`, {
      headers: { ...STAFF, prefer: 'respond-async' },
    });
    expect(kicked.status).toBe(202);
    const status = new URL(kicked.headers.get('content-location') as string).pathname;
    const jobId = status.slice(status.lastIndexOf('/') + 1);
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const second: string[] = [];
    child = await startChild(second);
    const done = logLine(second, child, new RegExp(`export job ${jobId} completed`));
    const answer = await fetch(`${base}${status}`, { headers: STAFF });
    // Killed after it completed: answered now. Otherwise: once the restarted node has run it.
    if (answer.status !== 200) await done;
    const manifest = (await (await fetch(`${base}${status}`, { headers: STAFF })).json()) as {
      output: { type: string; count: number }[];
    };
    expect(manifest.output.reduce((n, o) => n + o.count, 0)).toBe(PATIENTS);
  }, 180_000);
});
