/**
 * Issue 16 item 1, issue 17 item 2 (decision 0014): one member served by two worker processes that
 * share its port and database, with the primary as the one log sequencer. Real processes (node:cluster
 * through `careledger node start --workers 2`), real SQLite, real anvil.
 *
 * Concurrent creates and reads go through both workers; every acknowledged write is readable and in
 * the log with a valid inclusion proof. Then the primary is SIGKILLed under load: the workers go with
 * it, and after a restart every acknowledged write is there and no size was ever signed twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseVerifierKey, verifyTlogProof } from '../../src/log/index.js';
import { nodePaths } from '../../src/node/node-config.js';
import { parseVersionProof, versionEntryOf } from '../../src/vault/version-proof.js';
import { findCheckpointProblems, loadLogHistory } from '../crash/log-history.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { findFreePort } from '../support/free-port.js';
import { prepareSoloNode, type SoloNodeFolder } from '../support/start-solo-node.js';

const CLINICIAN = {
  'X-CareLedger-Identity': 'Practitioner/dr-1',
  'X-CareLedger-Roles': 'clinician',
  Accept: 'application/fhir+json',
  'Content-Type': 'application/fhir+json',
};

let folder: SoloNodeFolder;
let port: number;
let member: ChildProcess | undefined;
const lines: string[] = [];

/** Starts `node start --workers 2` and resolves once both workers listen. */
function startMember(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...cliNodeArgs(), 'node', 'start', '--dir', folder.nodeDir, '--workers', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let listening = 0;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (line.includes('listening on')) listening++;
        if (listening === 2) resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`member exited during start (${code}): ${lines.slice(-5).join(' | ')}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves once nothing answers on the member's port: the workers went with their primary. */
async function portClosed(): Promise<void> {
  for (;;) {
    const answered = await fetch(`http://127.0.0.1:${port}/health`, {
      signal: AbortSignal.timeout(1000),
    }).then(
      () => true,
      () => false,
    );
    if (!answered) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const base = () => `http://127.0.0.1:${port}`;

async function createPatient(marker: string): Promise<string> {
  const response = await fetch(`${base()}/fhir/Patient`, {
    method: 'POST',
    headers: CLINICIAN,
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: marker }] }),
  });
  if (response.status !== 201) throw new Error(`create answered ${response.status}`);
  return ((await response.json()) as Resource).id as string;
}

/** Reads a patient with its version proof and checks its inclusion in a signed checkpoint. */
async function verifyLogged(id: string): Promise<void> {
  const read = await fetch(`${base()}/fhir/Patient/${id}`, {
    headers: { ...CLINICIAN, 'X-CareLedger-Version-Proof': '1' },
  });
  expect(read.status).toBe(200);
  const served = (await read.json()) as Resource;
  const { proof } = parseVersionProof(served);
  // A checkpoint covers an entry within a second or so of its commit (checkpointing interval).
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${base()}/log/proof/${proof.index}`);
    if (response.status === 200) {
      verifyTlogProof(await response.text(), {
        logVerifier: parseVerifierKey(folder.logVerifierKey),
        entry: versionEntryOf(served),
      });
      return;
    }
    if (attempt > 100) throw new Error(`no proof for entry ${proof.index} (${response.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  port = await findFreePort();
  folder = await prepareSoloNode({ port });
  member = await startMember();
}, 240_000);

afterAll(async () => {
  if (process.env.CARELEDGER_TEST_LOG) writeFileSync(process.env.CARELEDGER_TEST_LOG, lines.join('\n'));
  if (member !== undefined) {
    member.kill('SIGTERM');
    await exited(member);
  }
  await folder?.chain.stop();
  if (folder !== undefined) rmSync(folder.dir, { recursive: true, force: true });
});

describe('one member on two worker processes, one sequencer', () => {
  test('concurrent creates and reads through both workers: every acknowledged write is readable and logged', async () => {
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => createPatient(`Worker-${i}`)));
    expect(new Set(ids).size).toBe(24);
    const reads = await Promise.all(
      ids.map((id) => fetch(`${base()}/fhir/Patient/${id}`, { headers: CLINICIAN }).then((r) => r.status)),
    );
    expect(reads.every((status) => status === 200)).toBe(true);
    for (const id of ids) await verifyLogged(id);
  }, 240_000);

  test('SIGKILL of the primary under load: after a restart every acknowledged write is there, no size signed twice', async () => {
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          acknowledged.push(await createPatient(`Load-${w}-${i}`));
        } catch {
          // Refused (503) or cut off by the kill: not acknowledged, so nothing is owed.
          if (stop) return;
        }
      }
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w));
    while (acknowledged.length < 30) await new Promise((r) => setTimeout(r, 50));
    const running = member as ChildProcess;
    running.kill('SIGKILL');
    await exited(running);
    await portClosed();
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(30);

    member = await startMember();
    for (const id of acknowledged) await verifyLogged(id);
    const history = loadLogHistory(nodePaths(folder.nodeDir).database);
    expect(history.conflictingSizes).toEqual([]);
    expect(findCheckpointProblems(history, folder.logOrigin, folder.logVerifierKey)).toEqual([]);
  }, 300_000);
});
