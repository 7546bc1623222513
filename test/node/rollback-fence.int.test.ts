/**
 * A node restored from an older copy of its database (issue 14, item 3) over a real embedded chain:
 * its log is shorter than the checkpoint it anchored. It must notice at start, append and sign
 * nothing (writes answer 503 with the reason), and say why in /status, instead of re-using the
 * anchored indices (a fork of its own history).
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodePaths } from '../../src/node/node-config.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let node: RunningNode | undefined;

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };

interface LogStatus {
  size: number;
  checkpointSize: number | null;
  anchoredSize: number | null;
  fence: string | null;
}

async function logStatus(running: RunningNode): Promise<LogStatus> {
  const response = await running.app.request('/status');
  return ((await response.json()) as { log: LogStatus }).log;
}

async function createPatient(running: RunningNode, family: string) {
  const response = await running.app.request('/fhir/Patient', {
    method: 'POST',
    headers: { ...clinician, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family }], birthDate: '1970-01-01' }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Polls /status (the node checkpoints and anchors on its own timers) until the whole log is anchored. */
async function waitForAnchorOfWholeLog(running: RunningNode): Promise<LogStatus> {
  const deadline = Date.now() + 60_000;
  let last: LogStatus | undefined;
  while (Date.now() < deadline) {
    last = await logStatus(running);
    if (last.size > 0 && last.anchoredSize === last.size) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the log was never anchored whole; last status: ${JSON.stringify(last)}`);
}

const DB_FILES = ['', '-wal', '-shm'];

function copyDatabase(from: string, to: string): void {
  for (const suffix of DB_FILES) {
    rmSync(`${to}${suffix}`, { force: true });
    if (existsSync(`${from}${suffix}`)) copyFileSync(`${from}${suffix}`, `${to}${suffix}`);
  }
}

beforeAll(async () => {
  solo = await startSoloNode();
  node = solo.node;
});

afterAll(async () => {
  await node?.close();
  await solo?.chain.stop();
  if (solo !== undefined) rmSync(solo.dir, { recursive: true, force: true });
});

it('a node restored from an older database copy runs fenced and never signs behind its anchor', async () => {
  const nodeDir = join(solo.dir, 'solo');
  const database = nodePaths(nodeDir).database;
  const backup = join(solo.dir, 'backup.db');
  const start = () => startNode(nodeDir, { log: () => undefined, port: 0 });

  expect((await createPatient(solo.node, 'Before')).status).toBe(201);
  const old = await waitForAnchorOfWholeLog(solo.node);
  await solo.node.close();
  node = undefined;
  copyDatabase(database, backup);

  node = await start();
  for (const family of ['After', 'Later']) expect((await createPatient(node, family)).status).toBe(201);
  const anchored = await waitForAnchorOfWholeLog(node);
  expect(anchored.anchoredSize).toBeGreaterThan(old.size);
  await node.close();
  node = undefined;

  copyDatabase(backup, database);
  node = await start();
  const fenced = await logStatus(node);
  const reason = `log size ${old.size} is behind anchor ${anchored.anchoredSize}`;
  expect(fenced).toMatchObject({ size: old.size, fence: `fenced: ${reason}` });

  const write = await createPatient(node, 'Fork');
  expect(write.status).toBe(503);
  expect(JSON.stringify(write.body)).toContain(reason);
  // Nothing appended, so no checkpoint below the anchor was or will be signed.
  const after = await logStatus(node);
  expect(after.size).toBe(old.size);
  expect(after.checkpointSize ?? 0).toBeLessThanOrEqual(old.size);
});
