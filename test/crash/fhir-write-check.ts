/**
 * The FHIR-write crash check (Core 3, ARCHITECTURE §4.1: a write is answered 201 only once its version
 * and its AuditEvent are durable), shared by the SQLite run (fhir-write-crash.int.test.ts) and the
 * PostgreSQL run (consortium-postgres-crash.int.test.ts): SIGKILL the hospital node again and again
 * while writers POST Patients and Observations, let the supervisor restart it, then check over the HTTP
 * API that no acknowledged resource was lost, that every stored resource has exactly one successful
 * 'create' AuditEvent, and that every such AuditEvent names a version that exists. A write stored whose
 * 201 never reached the client (killed between commit and reply) is legitimate: counted, not failed.
 *
 * Every third kill (the phase seeded) also SIGKILLs the chain at the same moment; writes do not need
 * the chain, so they keep being acknowledged while the supervisor restarts it from its snapshot.
 * After the load, the log must recompute to its signed checkpoints: `log audit` over HTTP against the
 * ledger (served tiles, current checkpoint, every anchor), and every checkpoint the node ever signed,
 * read from its database, against the stored leaves; no size was ever signed with two roots.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { auditLog, createChainLogLedger } from '../../src/cli/commands/log-audit.js';
import { createRandom } from '../support/seeded-random.js';
import { findCheckpointProblems, type LogHistory } from './log-history.js';

export interface FhirWriteCrashOptions {
  readonly dev: DevConsortium;
  /** What the supervisor printed (restarts are counted from it). */
  readonly lines: readonly string[];
  readonly kills: number;
  readonly writers: number;
  /** Seeds the kill timing and the writers' choices, so a failing run can be replayed. */
  readonly seed: number;
  /** The load stops after the last kill, or at this bound. */
  readonly loadBoundMs: number;
  /** Every checkpoint the hospital's log signed and its leaves, read from its database. */
  readonly loadHistory: () => Promise<LogHistory>;
  /** Just before each kill (PostgreSQL: the process to be killed holds the sequencer lease). */
  readonly beforeKill?: () => Promise<void>;
  /** Once the killed node answers again. */
  readonly afterRestart?: () => Promise<void>;
  /** Which of every three kills takes the chain down too (0, 1 or 2); default seeded. */
  readonly chainPhase?: number;
  /** The summary line's first word. */
  readonly label: string;
}

const MARKER_SYSTEM = 'urn:test';
const LOG_ENTRY_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/log-entry';

const CLINICIAN = {
  'X-CareLedger-Identity': 'Practitioner/dr-1',
  'X-CareLedger-Roles': 'clinician',
  Accept: 'application/fhir+json',
};
// A clinician is not shown AuditEvents (access policy: patient and privacy officer only).
const PRIVACY_OFFICER = {
  'X-CareLedger-Identity': 'Practitioner/po-1',
  'X-CareLedger-Roles': 'privacy-officer',
  Accept: 'application/fhir+json',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type WrittenType = 'Patient' | 'Observation';

interface Attempt {
  readonly type: WrittenType;
  readonly marker: string;
  /** 'acknowledged': 201 with an id; 'failed': anything else (reset, refused, 503, timeout). */
  readonly outcome: 'acknowledged' | 'failed';
  readonly id?: string;
  /** HTTP status, or the name of the transport error. */
  readonly answer: string;
}

interface FhirResource {
  resourceType: string;
  id: string;
  meta?: { versionId?: string };
  identifier?: { system?: string; value?: string }[];
}

interface AuditEventResource extends FhirResource {
  subtype?: { code?: string }[];
  outcome?: string;
  entity?: { what?: { reference?: string } }[];
  extension?: { url: string; extension?: { url: string; valueInteger?: number }[] }[];
}

interface SearchBundle<T> {
  link?: { relation: string; url: string }[];
  entry?: { resource?: T; search?: { mode?: string } }[];
}

function markerOf(resource: FhirResource): string | undefined {
  return resource.identifier?.find((i) => i.system === MARKER_SYSTEM)?.value;
}

function logIndexOf(event: AuditEventResource): number | undefined {
  return event.extension
    ?.find((e) => e.url === LOG_ENTRY_EXTENSION)
    ?.extension?.find((e) => e.url === 'index')?.valueInteger;
}

async function postResource(baseUrl: string, body: object): Promise<{ answer: string; id?: string }> {
  try {
    const response = await fetch(`${baseUrl}/fhir/${(body as { resourceType: string }).resourceType}`, {
      method: 'POST',
      headers: { ...CLINICIAN, 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (response.status !== 201) return { answer: String(response.status) };
    const created = JSON.parse(text) as FhirResource;
    return { answer: '201', id: created.id };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { answer: cause?.code ?? (error as Error).name };
  }
}

async function getJson<T>(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body?: T }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  return response.status === 200 ? { status: 200, body: JSON.parse(text) as T } : { status: response.status };
}

/** Every match of a search, following the `next` links (R4 §3.1.1.5.6 paging). */
async function searchAll<T>(url: string, headers: Record<string, string>): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = url;
  while (next !== undefined) {
    const page: { status: number; body?: SearchBundle<T> } = await getJson<SearchBundle<T>>(next, headers);
    if (page.status !== 200 || page.body === undefined)
      throw new Error(`search ${next}: HTTP ${page.status}`);
    for (const entry of page.body.entry ?? []) {
      if (entry.search?.mode === 'match' && entry.resource !== undefined) out.push(entry.resource);
    }
    next = page.body.link?.find((l) => l.relation === 'next')?.url;
  }
  return out;
}

async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/** Runs the load and the kills, then every check (vitest expectations). */
export async function checkFhirWritesSurviveKills(options: FhirWriteCrashOptions): Promise<void> {
  const { dev, lines, loadHistory } = options;
  const KILLS = options.kills;
  const WRITERS = options.writers;
  const SEED = options.seed;
  const LOAD_BOUND_MS = options.loadBoundMs;
  const hospital = dev.node('hospital');
  const started = Date.now();
  const attempts: Attempt[] = [];
  let stopLoad = false;

  const writer = async (writerIndex: number) => {
    const random = createRandom(SEED + 1 + writerIndex);
    const patients: string[] = [];
    while (!stopLoad) {
      const marker = randomUUID();
      const identifier = [{ system: MARKER_SYSTEM, value: marker }];
      const subject = patients[Math.floor(random() * patients.length)];
      const body =
        subject === undefined || random() < 0.35
          ? { resourceType: 'Patient', identifier, name: [{ family: `Crash${writerIndex}` }] }
          : {
              resourceType: 'Observation',
              identifier,
              status: 'final',
              code: { text: 'pulse' },
              subject: { reference: `Patient/${subject}` },
            };
      const type = body.resourceType as WrittenType;
      const { answer, id } = await postResource(hospital.url, body);
      if (id !== undefined) {
        attempts.push({ type, marker, outcome: 'acknowledged', id, answer });
        if (type === 'Patient') patients.push(id);
      } else {
        attempts.push({ type, marker, outcome: 'failed', answer });
        // The node is down or restarting: try again later, as a new write with a new marker.
        await sleep(100 + random() * 200);
      }
    }
  };
  const load = Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(i)));

  const random = createRandom(SEED);
  // Every third kill takes the chain down too, starting at a seeded one of the first three.
  const seededPhase = Math.floor(random() * 3);
  const chainPhase = options.chainPhase ?? seededPhase;
  let chainKills = 0;
  const loadDeadline = started + LOAD_BOUND_MS;
  let kills = 0;
  const acknowledged = () => attempts.filter((a) => a.outcome === 'acknowledged').length;
  try {
    // Under load before the first kill.
    while (acknowledged() < 2 * WRITERS && Date.now() < loadDeadline) await sleep(20);
    while (kills < KILLS && Date.now() < loadDeadline) {
      await sleep(300 + random() * 1200);
      const pid = hospital.process?.pid;
      const chainStarts = dev.chain.starts;
      const withChain = kills % 3 === chainPhase;
      await options.beforeKill?.();
      if (withChain) {
        void dev.chain.kill();
        chainKills += 1;
      }
      dev.killNode('hospital');
      kills += 1;
      // The supervisor spawns a new process (node.process is then a child with another pid).
      while (hospital.process === undefined || hospital.process.pid === pid) {
        if (Date.now() > started + LOAD_BOUND_MS + 60_000) throw new Error('the node was not restarted');
        await sleep(50);
      }
      await dev.waitForNode('hospital');
      await options.afterRestart?.();
      if (withChain) {
        // The supervisor relaunches anvil once it sees the exit; `starts` counts launches.
        while (dev.chain.starts === chainStarts) {
          if (Date.now() > started + LOAD_BOUND_MS + 60_000) throw new Error('the chain was not restarted');
          await sleep(50);
        }
        await dev.chain.whenReady();
      }
    }
    // Some writes after the last restart too.
    const before = acknowledged();
    while (acknowledged() < before + WRITERS && Date.now() < loadDeadline + 10_000) await sleep(20);
  } finally {
    stopLoad = true;
    await load;
  }
  const loadMs = Date.now() - started;
  // Everything written so far was recorded before this instant (bounds the AuditEvent listing).
  await sleep(20);
  const cutoff = new Date().toISOString();
  await sleep(20);

  const byMarker = new Map(attempts.map((a) => [a.marker, a]));
  const acked = attempts.filter((a) => a.outcome === 'acknowledged');
  const answers = new Map<string, number>();
  for (const a of attempts) answers.set(a.answer, (answers.get(a.answer) ?? 0) + 1);
  // A 4xx means the test's own request was wrong (or the node refused a valid write): not a crash.
  const clientErrors = attempts.filter((a) => /^4\d\d$/.test(a.answer));

  // Stored resources with the test markers, found by search (not by what the writers think).
  const stored = new Map<string, FhirResource>();
  const duplicateMarkers: string[] = [];
  for (const type of ['Patient', 'Observation'] as const) {
    const found = await searchAll<FhirResource>(
      `${hospital.url}/fhir/${type}?identifier=${encodeURIComponent(`${MARKER_SYSTEM}|`)}&_count=500`,
      CLINICIAN,
    );
    for (const resource of found) {
      const marker = markerOf(resource);
      if (marker === undefined) continue;
      if (stored.has(marker)) duplicateMarkers.push(marker);
      stored.set(marker, resource);
    }
  }
  const neverSent = [...stored.keys()].filter((m) => !byMarker.has(m));
  const storedUnacknowledged = [...stored.keys()].filter((m) => byMarker.get(m)?.outcome === 'failed').length;

  // (a) Every acknowledged resource is stored, readable, with its marker and its first version.
  const lost = acked.filter((a) => stored.get(a.marker)?.id !== a.id).map((a) => `${a.type}/${a.id}`);
  const unreadable = (
    await mapConcurrently(acked, 8, async (a) => {
      const read = await getJson<FhirResource>(`${hospital.url}/fhir/${a.type}/${a.id}`, CLINICIAN);
      const ok = read.status === 200 && markerOf(read.body as FhirResource) === a.marker;
      return ok && read.body?.meta?.versionId === '1' ? undefined : `${a.type}/${a.id} (${read.status})`;
    })
  ).filter((x) => x !== undefined);

  // All AuditEvents recorded up to the cutoff (the checks' own reads are audited after it).
  const auditEvents = await searchAll<AuditEventResource>(
    `${hospital.url}/fhir/AuditEvent?_lastUpdated=lt${encodeURIComponent(cutoff)}&_count=1000`,
    PRIVACY_OFFICER,
  );
  const creates = auditEvents.filter((e) => e.subtype?.[0]?.code === 'create' && e.outcome === '0');
  const createsByReference = new Map<string, AuditEventResource[]>();
  for (const event of creates) {
    const reference = event.entity?.[0]?.what?.reference ?? '';
    createsByReference.set(reference, [...(createsByReference.get(reference) ?? []), event]);
  }

  // (b) Every stored resource has exactly one successful 'create' AuditEvent for its version 1.
  const auditMismatch = [...stored.values()]
    .map((r) => `${r.resourceType}/${r.id}/_history/1`)
    .filter((reference) => createsByReference.get(reference)?.length !== 1)
    .map((reference) => `${reference} has ${createsByReference.get(reference)?.length ?? 0} create audits`);

  // (c) Every successful 'create' AuditEvent names a version that exists.
  const references = [...createsByReference.keys()];
  const auditWithoutVersion = (
    await mapConcurrently(references, 8, async (reference) => {
      if (!/^[A-Za-z]+\/[A-Za-z0-9\-.]+\/_history\/1$/.test(reference)) return `${reference} (malformed)`;
      const vread = await getJson<FhirResource>(`${hospital.url}/fhir/${reference}`, CLINICIAN);
      return vread.status === 200 ? undefined : `${reference} (${vread.status})`;
    })
  ).filter((x) => x !== undefined);
  // Creates of the test's resources (the demo also enrols a patient of its own at start-up).
  const storedReferences = new Set([...stored.values()].map((r) => `${r.resourceType}/${r.id}/_history/1`));
  const testCreates = creates.filter((e) =>
    storedReferences.has(e.entity?.[0]?.what?.reference ?? ''),
  ).length;

  // Every AuditEvent has its own log entry; the log checkpoints past the last one.
  const logIndices = auditEvents.map(logIndexOf);
  const withoutLogIndex = logIndices.filter((i) => i === undefined).length;
  const distinctIndices = new Set(logIndices).size;
  const maxIndex = Math.max(-1, ...logIndices.map((i) => i ?? -1));
  let checkpointSize = 0;
  // Checkpoints are signed about once a second (log services).
  const checkpointDeadline = Date.now() + 15_000;
  while (checkpointSize <= maxIndex && Date.now() < checkpointDeadline) {
    const response = await fetch(`${hospital.url}/log/checkpoint`);
    const note = await response.text();
    // c2sp.org/tlog-checkpoint: origin line, then the tree size in decimal.
    if (response.status === 200) checkpointSize = Number(note.split('\n')[1]);
    if (checkpointSize <= maxIndex) await sleep(250);
  }

  // The log recomputes to its signed checkpoints: the served one and every anchor on the ledger,
  // checked by `log audit` from the tiles alone ...
  const deployment = dev.deployment;
  if (deployment === undefined) throw new Error('no deployment');
  const ledger = createChainLogLedger(createChainClient(dev.chain.rpcUrl, deployment.chainId), deployment);
  const origin = 'hospital.careledger.test/log';
  // The node anchors its latest cosigned checkpoint every 10 s (log services), a timer each restart
  // starts over: wait for one anchor after the load so the audit has an anchor to check.
  const anchorDeadline = Date.now() + 30_000;
  while ((await ledger.anchorsOf(origin)).length === 0 && Date.now() < anchorDeadline) await sleep(500);
  const audit = await auditLog({ nodeUrl: hospital.url, ledger });
  // ... and every checkpoint it ever signed, read from its database, against the stored leaves.
  const owner = await ledger.ownerOf(origin);
  const history = await loadHistory();
  const historyProblems =
    owner === undefined ? ['no log owner'] : findCheckpointProblems(history, origin, owner.logVerifierKey);
  const signedSizes = history.checkpoints.map((c) => c.size);
  const anchors = await ledger.anchorsOf(origin);
  const anchorRoots = new Map<number, string>();
  const anchorConflicts: number[] = [];
  for (const anchor of anchors) {
    const root = Buffer.from(anchor.rootHash).toString('hex');
    if ((anchorRoots.get(anchor.treeSize) ?? root) !== root) anchorConflicts.push(anchor.treeSize);
    anchorRoots.set(anchor.treeSize, root);
  }
  // An anchored size is one the node signed, with the same root.
  const signedRoots = new Map(
    history.checkpoints.map((c) => [c.size, Buffer.from(c.rootHash).toString('hex')]),
  );
  const anchorsUnsigned = [...anchorRoots]
    .filter(([size, root]) => signedRoots.get(size) !== root)
    .map(([size]) => size);

  const restarts = lines.filter((l) => l.startsWith('[hospital] exited')).length;
  console.log(
    `${options.label}: seed ${SEED}, ${WRITERS} writers, ${kills} kills (${restarts} restarts, ` +
      `${chainKills} with the chain, ${dev.chain.starts} chain starts), ` +
      `${attempts.length} attempts: ${acked.length} acknowledged, ${storedUnacknowledged} stored but ` +
      `unacknowledged, ${attempts.length - acked.length - storedUnacknowledged} failed and not stored; ` +
      `${creates.length} create AuditEvents (${testCreates} of test resources) of ${auditEvents.length}; ` +
      `checkpoint ${checkpointSize}; audit of size ${audit.size}: ${audit.entriesChecked} entries, ` +
      `${audit.anchorsChecked} anchors, ${audit.problems.length} problems; ${signedSizes.length} ` +
      `checkpoints signed (sizes ${signedSizes[0]}..${signedSizes.at(-1)}); answers ${JSON.stringify(Object.fromEntries(answers))}; ` +
      `load ${Math.round(loadMs / 1000)} s, elapsed ${Math.round((Date.now() - started) / 1000)} s`,
  );

  expect(clientErrors.map((a) => `${a.type} ${a.answer}`)).toEqual([]);
  expect(kills).toBeGreaterThan(0);
  expect(restarts).toBe(kills);
  // With three kills or more, at least one took the chain down too.
  if (kills >= 3) expect(chainKills).toBeGreaterThan(0);
  expect(dev.chain.starts).toBe(1 + chainKills);
  expect(acked.length).toBeGreaterThan(0);
  expect(neverSent).toEqual([]);
  expect(duplicateMarkers).toEqual([]);
  expect(lost).toEqual([]);
  expect(unreadable).toEqual([]);
  expect(auditMismatch).toEqual([]);
  expect(auditWithoutVersion).toEqual([]);
  // One to one: each stored test resource has exactly one create AuditEvent (checked per resource
  // above), and no create AuditEvent names a version that does not exist.
  expect(testCreates).toBe(stored.size);
  expect(withoutLogIndex).toBe(0);
  expect(distinctIndices).toBe(auditEvents.length);
  expect(checkpointSize).toBeGreaterThan(maxIndex);
  // Each write is two log entries: its version's keyed hash and its AuditEvent's commitment.
  expect(checkpointSize).toBeGreaterThanOrEqual(2 * creates.length);
  expect(audit.problems).toEqual([]);
  expect(audit.ok).toBe(true);
  expect(audit.origin).toBe(origin);
  expect(audit.anchorsChecked).toBeGreaterThan(0);
  expect(audit.size).toBeGreaterThanOrEqual(checkpointSize);
  expect(history.conflictingSizes).toEqual([]);
  expect(historyProblems).toEqual([]);
  expect(signedSizes.at(-1)).toBeGreaterThanOrEqual(audit.size ?? 0);
  expect(anchorConflicts).toEqual([]);
  expect(anchorsUnsigned).toEqual([]);
}
