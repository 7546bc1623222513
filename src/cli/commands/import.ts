import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { resolveDataDir, resolveNodeUrl } from '../data-dir.js';
import { createProgressBar, formatDuration, type ProgressStream } from '../progress-bar.js';
import { type BatchSender, DEFAULT_IMPORT_BATCH, sendBatch } from './import-batch.js';
import {
  applyResolvedReferences,
  type LookupConditionalReference,
  resolveConditionalReferences,
} from './import-references.js';
import {
  countImportItems,
  type ImportFile,
  type ImportItem,
  listImportFiles,
  type ResourceItem,
  readImportItems,
  type SourceNotes,
} from './import-sources.js';
import {
  DoneRanges,
  type ImportFileState,
  type ImportState,
  loadImportState,
  saveImportState,
} from './import-state.js';
import type { CommandOutput } from './proof-verify.js';

/** Why a resource was not sent; the only reason today. */
export const SKIPPED_NOT_SERVED = 'type not served by this node';

export interface ImportOptions {
  /** Files, or folders whose *.json and *.ndjson files are imported (sorted by name). */
  readonly inputs: readonly string[];
  /** The member node, e.g. http://127.0.0.1:8701 (its FHIR API is under /fhir). */
  readonly nodeUrl: string;
  readonly reportFile: string;
  readonly stateFile: string;
  readonly concurrency?: number;
  /**
   * Resources per transaction Bundle (default 100): one request and one commit for each group of
   * resources; 1 sends each resource with its own PUT.
   */
  readonly batchSize?: number;
  /** `X-CareLedger-Identity` (development authentication). */
  readonly identity?: string;
  /** `X-CareLedger-Purpose`. */
  readonly purpose?: string;
  /** Ignore what the state file says was done. */
  readonly restart?: boolean;
  /** Stops sending new resources; those in flight finish and are recorded, then the state is saved. */
  readonly signal?: AbortSignal;
  /** Also abandons the requests in flight (a second Ctrl-C): they will be sent again on resume. */
  readonly hardSignal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** Waits between retries; injected so tests need not wait. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly clock?: { now(): number };
  readonly progress?: ProgressStream;
  readonly quiet?: boolean;
  /** Save the state after this many resources (default 200). */
  readonly checkpointEvery?: number;
  /** Per-request timeout in milliseconds (default 60 s). */
  readonly timeoutMs?: number;
  /** Called after each resource is settled (loaded, skipped, failed), with the count so far. */
  readonly onSettled?: (settled: number) => void;
}

/** An OperationOutcome issue as reported: what the node said and where, never resource content. */
export interface ImportIssue {
  readonly severity?: string;
  readonly code?: string;
  readonly diagnostics?: string;
  readonly expression?: readonly string[];
}

export interface ImportFailure {
  readonly file: string;
  /** NDJSON: 1-based line. */
  readonly line?: number;
  /** Bundle: 0-based entry index. */
  readonly entry?: number;
  readonly resourceType?: string;
  readonly id?: string;
  /** HTTP status; 0 when no answer was had (connection error) or the input was not sent at all. */
  readonly status: number;
  readonly issues: readonly ImportIssue[];
}

export interface ImportSummary {
  readonly node: string;
  readonly files: number;
  /** Files of a folder that were left out as not FHIR (a bulk export's log.ndjson). */
  readonly ignoredFiles: readonly string[];
  /** Items in all the files. */
  readonly resources: number;
  /** Done by an earlier run (from the state file): not read, not sent. */
  readonly alreadyDone: number;
  /** Answered 201 or 200. */
  readonly loaded: number;
  readonly created: number;
  /** Answered 200: the resource existed, the node stored a new version. */
  readonly updated: number;
  readonly skipped: {
    readonly reason: string;
    readonly total: number;
    readonly byType: Record<string, number>;
  };
  readonly failed: number;
  /** HTTP requests sent (transaction Bundles and single PUTs), retries included. */
  readonly requests: number;
  readonly retries: number;
  /** Conditional references (`Type?identifier=…`) rewritten to `Type/id` before sending. */
  readonly resolvedConditionalReferences: number;
  /** Conditional references that matched no resource or several: sent as they are. */
  readonly conditionalReferences: number;
  /** `urn:uuid:` references to no entry of their bundle, sent as they are. */
  readonly unresolvedReferences: number;
  /** True when the run was interrupted; `remaining` resources were not processed. */
  readonly interrupted: boolean;
  readonly remaining: number;
  readonly elapsedMs: number;
  /** Loaded resources per second of elapsed time. */
  readonly resourcesPerSecond: number;
  readonly reportFile: string;
  readonly stateFile: string;
}

export interface ImportResult {
  readonly summary: ImportSummary;
  readonly failures: readonly ImportFailure[];
}

const MAX_RETRIES = 5;
const RETRY_BASE_MS = 250;
const RETRY_CAP_MS = 30_000;

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** The node's FHIR base: `<node>/fhir`, whether or not the user typed the /fhir. */
export function parseFhirBase(nodeUrl: string): string {
  let url: URL;
  try {
    url = new URL(nodeUrl);
  } catch {
    throw new CareLedgerError('ERR_INVALID_INPUT', `--node ${nodeUrl} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CareLedgerError('ERR_INVALID_INPUT', `--node ${nodeUrl} is not an http(s) URL`);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path.endsWith('/fhir') ? path : `${path}/fhir`}`;
}

/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; undefined when absent or bad. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  if (/^[0-9]+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The issues of an OperationOutcome body, keeping only severity, code, diagnostics and expression. */
function outcomeIssues(body: string): ImportIssue[] {
  try {
    const outcome = JSON.parse(body) as { resourceType?: unknown; issue?: unknown };
    if (outcome.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return [];
    return outcome.issue.map((raw: unknown) => {
      const issue = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      return {
        ...(typeof issue.severity === 'string' ? { severity: issue.severity } : {}),
        ...(typeof issue.code === 'string' ? { code: issue.code } : {}),
        ...(typeof issue.diagnostics === 'string' ? { diagnostics: issue.diagnostics } : {}),
        ...(Array.isArray(issue.expression)
          ? { expression: issue.expression.filter((e): e is string => typeof e === 'string') }
          : {}),
      };
    });
  } catch {
    return [];
  }
}

/** The resource types the node says it serves (CapabilityStatement.rest.resource.type). */
async function readServedTypes(
  base: string,
  doFetch: typeof fetch,
  timeoutMs: number,
  wait: (attempt: number, retryAfter: string | null) => Promise<void>,
): Promise<ReadonlySet<string>> {
  let response: Response;
  let body: unknown;
  try {
    for (let attempt = 0; ; attempt++) {
      response = await doFetch(`${base}/metadata`, {
        headers: { accept: 'application/fhir+json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      // A node shedding load (503) or asking to slow down (429) is asked again, as a PUT would be.
      if ((response.status !== 503 && response.status !== 429) || attempt >= MAX_RETRIES) break;
      await response.body?.cancel();
      await wait(attempt, response.headers.get('retry-after'));
    }
    body = await response.json();
  } catch (cause) {
    throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${new URL(base).origin} does not answer`, {
      cause,
    });
  }
  const rest = (body as { rest?: { resource?: { type?: unknown }[] }[] } | undefined)?.rest;
  if (!response.ok || !Array.isArray(rest))
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `${base}/metadata is not a FHIR CapabilityStatement (HTTP ${response.status}); is --node a CareLedger node?`,
    );
  return new Set(
    rest.flatMap((r) => r.resource ?? []).flatMap((r) => (typeof r.type === 'string' ? [r.type] : [])),
  );
}

type Outcome =
  | { kind: 'loaded'; created: boolean }
  | { kind: 'skipped' }
  | { kind: 'failed'; status: number; issues: ImportIssue[] }
  | { kind: 'interrupted' };

/**
 * `careledger import`: writes FHIR resources from Bundles and NDJSON files to a node with
 * PUT `<node>/fhir/<Type>/<id>` (update-as-create, so the ids survive and a repeated import writes
 * the same resources). Progress is saved in a state file, so an interrupted import resumes where it
 * stopped. Never throws for a resource the node refuses: that is a failure in the result and the
 * report file; throws for an input or node it cannot use at all.
 */
export async function runImport(options: ImportOptions): Promise<ImportResult> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  const clock = options.clock ?? { now: () => Date.now() };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const concurrency = options.concurrency ?? 8;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_IMPORT_BATCH);
  const checkpointEvery = options.checkpointEvery ?? 200;
  const soft = options.signal ?? new AbortController().signal;
  const hard = options.hardSignal ?? new AbortController().signal;
  const stopping = AbortSignal.any([soft, hard]);
  const headers = {
    accept: 'application/fhir+json',
    'content-type': 'application/fhir+json',
    'x-careledger-identity': options.identity ?? 'Practitioner/importer',
    'x-careledger-purpose': options.purpose ?? 'TREAT',
  };
  const started = clock.now();
  const base = parseFhirBase(options.nodeUrl);
  const { files, ignored } = listImportFiles(options.inputs);
  const waitToRetry = (attempt: number, retryAfter: string | null): Promise<void> =>
    sleep(
      Math.min(RETRY_CAP_MS, parseRetryAfter(retryAfter, clock.now()) ?? RETRY_BASE_MS * 2 ** attempt),
      stopping,
    );
  const served = await readServedTypes(base, doFetch, timeoutMs, waitToRetry);
  const resolvedReferences = await resolveConditionalReferences(
    files,
    createNodeLookup(base, doFetch, headers, timeoutMs, waitToRetry),
  );

  // Progress per file, from the state when it describes this node and this exact file. --restart
  // forgets these files' progress only; other files' entries stay for their own re-runs.
  const state = loadStateUnlessRestart(options.stateFile, options.restart === true);
  const keep = state.files.filter((s) => !files.some((f) => f.path === s.path && base === s.node));
  const progress: { file: ImportFile; count: number; done: DoneRanges }[] = [];
  for (const file of files) {
    const previous = state.files.find(
      (s) =>
        options.restart !== true &&
        s.node === base &&
        s.path === file.path &&
        s.size === file.size &&
        s.mtimeMs === file.mtimeMs,
    );
    progress.push({
      file,
      count: previous?.count ?? (await countImportItems(file)),
      done: new DoneRanges(previous?.done ?? []),
    });
  }
  const save = () =>
    saveImportState(options.stateFile, {
      version: 1,
      files: [
        ...keep,
        ...progress.map(
          (p): ImportFileState => ({
            node: base,
            path: p.file.path,
            size: p.file.size,
            mtimeMs: p.file.mtimeMs,
            count: p.count,
            done: p.done.toJSON(),
          }),
        ),
      ],
    });

  const resources = progress.reduce((n, p) => n + p.count, 0);
  const alreadyDone = progress.reduce((n, p) => n + p.done.countBelow(p.count), 0);
  const bar = createProgressBar({
    label: 'import',
    total: resources - alreadyDone,
    quiet: options.quiet === true,
    ...(options.progress === undefined ? {} : { stream: options.progress }),
    clock,
  });

  const notes: SourceNotes = { conditionalReferences: 0, unresolvedReferences: 0 };
  const failures: ImportFailure[] = [];
  const skippedByType: Record<string, number> = {};
  let created = 0;
  let updated = 0;
  let resolvedConditional = 0;
  let unresolvedConditional = 0;
  let requests = 0;
  let retries = 0;
  let settled = 0;
  let sinceCheckpoint = 0;

  async function put(item: ResourceItem): Promise<Outcome> {
    const url = `${base}/${item.resourceType}/${encodeURIComponent(item.id)}`;
    const body = JSON.stringify(item.resource);
    for (let attempt = 0; ; attempt++) {
      if (hard.aborted) return { kind: 'interrupted' };
      let retryAfter: number | undefined;
      let failure: Outcome;
      requests++;
      try {
        const response = await doFetch(url, {
          method: 'PUT',
          headers,
          body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), hard]),
        });
        const text = await response.text();
        if (response.status === 200 || response.status === 201)
          return { kind: 'loaded', created: response.status === 201 };
        const issues = outcomeIssues(text);
        if (
          response.status === 404 &&
          issues.some((i) => /does not serve resource type/.test(i.diagnostics ?? ''))
        )
          return { kind: 'skipped' };
        failure = { kind: 'failed', status: response.status, issues };
        // 503: the node (its log, its chain) is briefly unavailable; 429: it asks us to slow down.
        if (response.status !== 503 && response.status !== 429) return failure;
        retryAfter = parseRetryAfter(response.headers.get('retry-after'), clock.now());
      } catch (cause) {
        if (hard.aborted) return { kind: 'interrupted' };
        const reason = (cause as Error).name === 'TimeoutError' ? 'no answer in time' : 'connection failed';
        const code = ((cause as Error).cause as { code?: unknown } | undefined)?.code;
        failure = {
          kind: 'failed',
          status: 0,
          issues: [{ diagnostics: `${reason}${typeof code === 'string' ? ` (${code})` : ''}` }],
        };
      }
      if (attempt >= MAX_RETRIES || soft.aborted) return soft.aborted ? { kind: 'interrupted' } : failure;
      retries++;
      await sleep(Math.min(RETRY_CAP_MS, retryAfter ?? RETRY_BASE_MS * 2 ** attempt), stopping);
      if (soft.aborted) return { kind: 'interrupted' };
    }
  }

  const settle = (entry: (typeof progress)[number], item: ImportItem, outcome: Outcome): void => {
    if (outcome.kind === 'interrupted') return;
    if (outcome.kind === 'loaded') {
      if (outcome.created) created++;
      else updated++;
    } else if (outcome.kind === 'skipped') {
      const type = item.resourceType ?? 'unknown';
      skippedByType[type] = (skippedByType[type] ?? 0) + 1;
    } else {
      failures.push({
        file: entry.file.path,
        ...(item.line === undefined ? {} : { line: item.line }),
        ...(item.entry === undefined ? {} : { entry: item.entry }),
        ...(item.resourceType === undefined ? {} : { resourceType: item.resourceType }),
        ...(item.id === undefined ? {} : { id: item.id }),
        status: outcome.status,
        issues: outcome.issues,
      });
    }
    if (outcome.kind !== 'failed') entry.done.add(item.index);
    settled++;
    bar.tick();
    options.onSettled?.(settled);
    if (++sinceCheckpoint >= checkpointEvery) {
      sinceCheckpoint = 0;
      save();
    }
  };

  type Pending = { entry: (typeof progress)[number]; item: ImportItem };
  const sender: BatchSender = {
    doFetch,
    headers,
    timeoutMs,
    maxRetries: MAX_RETRIES,
    wait: waitToRetry,
    hard,
    soft,
    count: (what) => {
      if (what === 'request') requests++;
      else retries++;
    },
  };

  /**
   * Writes one group of items: the resources of served types go together in one transaction Bundle;
   * if the node refuses the Bundle (one invalid resource refuses all), each is sent on its own with
   * PUT, so every failure is reported as its own and the rest still load.
   */
  async function load(group: readonly Pending[]): Promise<void> {
    const together: { entry: Pending['entry']; item: ResourceItem }[] = [];
    for (const { entry, item } of group) {
      if ('invalid' in item) {
        settle(entry, item, { kind: 'failed', status: 0, issues: [{ diagnostics: item.invalid }] });
        continue;
      }
      if (!served.has(item.resourceType)) {
        settle(entry, item, { kind: 'skipped' });
        continue;
      }
      const references = applyResolvedReferences(item.resource, resolvedReferences);
      resolvedConditional += references.resolved;
      unresolvedConditional += references.unresolved;
      // A conditional reference left unresolved would fail a whole transaction (R4 §3.1.0.11.2: the
      // server must resolve it there); sent alone with PUT it is stored as it is.
      if (references.unresolved > 0) settle(entry, item, await put(item));
      else together.push({ entry, item });
    }
    if (together.length === 1) {
      const [only] = together as [(typeof together)[number]];
      settle(only.entry, only.item, await put(only.item));
      return;
    }
    if (together.length === 0) return;
    const outcome = await sendBatch(
      sender,
      base,
      together.map((t) => t.item),
    );
    if (outcome.kind === 'stored') {
      together.forEach((t, i) => {
        settle(t.entry, t.item, { kind: 'loaded', created: outcome.created[i] === true });
      });
    } else if (outcome.kind === 'refused') {
      for (const t of together) settle(t.entry, t.item, await put(t.item));
    } else if (outcome.kind === 'failed') {
      for (const t of together) {
        settle(t.entry, t.item, {
          kind: 'failed',
          status: outcome.status,
          issues: [{ diagnostics: outcome.diagnostics }],
        });
      }
    }
    // Interrupted: nothing settled; a re-run sends these again.
  }

  /** The items in groups of `batchSize`, each group contiguous in its file (so progress stays compact). */
  async function* groups(): AsyncGenerator<Pending[]> {
    let group: Pending[] = [];
    for await (const pending of everything()) {
      group.push(pending);
      if (group.length >= batchSize) {
        yield group;
        group = [];
      }
    }
    if (group.length > 0) yield group;
  }

  async function* everything(): AsyncGenerator<{ entry: (typeof progress)[number]; item: ImportItem }> {
    for (const entry of progress) {
      if (entry.done.countBelow(entry.count) === entry.count) continue;
      for await (const item of readImportItems(entry.file, (i) => entry.done.has(i), notes)) {
        if (stopping.aborted) return;
        yield { entry, item };
      }
    }
  }

  const source = groups();
  const broken = new AbortController();
  const worker = async (): Promise<void> => {
    for (;;) {
      if (stopping.aborted || broken.signal.aborted) return;
      let next: IteratorResult<Pending[]>;
      try {
        next = await source.next();
      } catch (error) {
        broken.abort();
        throw error;
      }
      if (next.done === true) return;
      await load(next.value);
    }
  };

  // allSettled, not all: the state must be saved only once no worker is still settling resources.
  const outcomes = await Promise.allSettled(Array.from({ length: Math.max(1, concurrency) }, worker));
  await source.return(undefined);
  save();
  bar.finish();
  const crashed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (crashed !== undefined) throw crashed.reason;

  const elapsedMs = clock.now() - started;
  const loaded = created + updated;
  const skippedTotal = Object.values(skippedByType).reduce((a, b) => a + b, 0);
  const interrupted = stopping.aborted;
  const summary: ImportSummary = {
    node: base,
    files: files.length,
    ignoredFiles: ignored,
    resources,
    alreadyDone,
    loaded,
    created,
    updated,
    skipped: { reason: SKIPPED_NOT_SERVED, total: skippedTotal, byType: sortKeys(skippedByType) },
    failed: failures.length,
    requests,
    retries,
    resolvedConditionalReferences: resolvedConditional,
    conditionalReferences: unresolvedConditional,
    unresolvedReferences: notes.unresolvedReferences,
    interrupted,
    remaining: interrupted ? resources - alreadyDone - settled : 0,
    elapsedMs,
    resourcesPerSecond: elapsedMs > 0 ? Math.round((loaded / elapsedMs) * 1000 * 10) / 10 : 0,
    reportFile: options.reportFile,
    stateFile: options.stateFile,
  };
  mkdirSync(dirname(options.reportFile), { recursive: true });
  writeFileSync(options.reportFile, `${JSON.stringify({ summary, failures }, null, 2)}\n`, { mode: 0o600 });
  return { summary, failures };
}

/** Asks the node's search for a conditional reference's single match (R4 §3.1.0.11.2). */
function createNodeLookup(
  base: string,
  doFetch: typeof fetch,
  headers: Record<string, string>,
  timeoutMs: number,
  wait: (attempt: number, retryAfter: string | null) => Promise<void>,
): LookupConditionalReference {
  return async (reference) => {
    const mark = reference.indexOf('?');
    const type = reference.slice(0, mark);
    const query = reference.slice(mark + 1);
    try {
      for (let attempt = 0; ; attempt++) {
        const response = await doFetch(`${base}/${type}?${query}&_count=2`, {
          headers: withoutContentType(headers),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if ((response.status === 503 || response.status === 429) && attempt < MAX_RETRIES) {
          await response.body?.cancel();
          await wait(attempt, response.headers.get('retry-after'));
          continue;
        }
        if (!response.ok) return undefined;
        const bundle = (await response.json()) as {
          entry?: { resource?: { resourceType?: string; id?: string }; search?: { mode?: string } }[];
        };
        const matches = (bundle.entry ?? []).filter(
          (e) => (e.search?.mode ?? 'match') === 'match' && e.resource?.resourceType === type,
        );
        return matches.length === 1 ? matches[0]?.resource?.id : undefined;
      }
    } catch {
      // Not resolving is not failing: the reference is sent as it is, and counted.
      return undefined;
    }
  };
}

function withoutContentType(headers: Record<string, string>): Record<string, string> {
  const { 'content-type': _body, ...rest } = headers;
  return rest;
}

function loadStateUnlessRestart(file: string, restart: boolean): ImportState {
  try {
    return loadImportState(file);
  } catch (error) {
    // A corrupt state file is no obstacle to starting over.
    if (restart) return { version: 1, files: [] };
    throw error;
  }
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The human summary printed at the end of an import. */
export function formatImportSummary(summary: ImportSummary): string {
  const lines = [
    `${summary.interrupted ? 'Interrupted' : 'Imported'} ${summary.files} file(s) into ${summary.node}: ` +
      `${summary.loaded} loaded (${summary.created} created, ${summary.updated} updated), ` +
      `${summary.failed} failed, ${summary.skipped.total} skipped` +
      (summary.alreadyDone > 0 ? `, ${summary.alreadyDone} already done by an earlier run` : ''),
  ];
  const types = Object.entries(summary.skipped.byType);
  if (types.length > 0)
    lines.push(`skipped: ${summary.skipped.reason}: ${types.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  if (summary.resolvedConditionalReferences > 0)
    lines.push(
      `${summary.resolvedConditionalReferences} conditional reference(s) (Type?identifier=…) resolved to Type/id`,
    );
  if (summary.conditionalReferences > 0)
    lines.push(
      `note: ${summary.conditionalReferences} conditional reference(s) (Type?identifier=…) matched no single resource and were sent as they are`,
    );
  if (summary.unresolvedReferences > 0)
    lines.push(
      `note: ${summary.unresolvedReferences} urn:uuid reference(s) to no bundle entry were sent as they are`,
    );
  for (const file of summary.ignoredFiles) lines.push(`ignored: ${file} (a bulk export log, not FHIR)`);
  lines.push(
    `${formatDuration(summary.elapsedMs / 1000)}, ${summary.resourcesPerSecond} resources/s, ` +
      `${summary.requests} requests (${summary.retries} retries)`,
  );
  if (summary.interrupted)
    lines.push(`${summary.remaining} resource(s) left: run the same command again to resume`);
  if (summary.failed > 0) lines.push(`failures are listed in ${summary.reportFile}`);
  return lines.join('\n');
}

export interface ImportCommandIo {
  readonly stdout?: CommandOutput;
  readonly stderr?: ProgressStream;
  readonly fetch?: typeof fetch;
  /** Process exit, for the interrupted case (130); injected by tests. */
  readonly exit?: (code: number) => void;
}

function parseConcurrency(value: string): number {
  if (!/^[1-9][0-9]{0,2}$/.test(value))
    throw new CareLedgerError('ERR_INVALID_INPUT', '--concurrency must be an integer from 1 to 999');
  return Number(value);
}

function parseBatchSize(value: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(value) || Number(value) > 1000)
    throw new CareLedgerError('ERR_INVALID_INPUT', '--batch must be an integer from 1 to 1000');
  return Number(value);
}

/** Adds `careledger import`. */
export function registerImportCommand(program: Command, io: ImportCommandIo = {}): void {
  program
    .command('import')
    .description('load FHIR resources (transaction Bundles, bulk-data NDJSON) into a member node')
    .argument('<paths...>', 'files, or folders whose *.json and *.ndjson files are all imported')
    .option(
      '--node <url>',
      "the member node, e.g. http://127.0.0.1:8701 (FHIR under /fhir); default: the demo's hospital",
    )
    .option('--concurrency <n>', 'requests in flight', '8')
    .option('--batch <n>', 'resources per transaction Bundle (1: one PUT per resource)', '100')
    .option('--identity <who>', 'X-CareLedger-Identity (development authentication)', 'Practitioner/importer')
    .option('--purpose <code>', 'X-CareLedger-Purpose', 'TREAT')
    .option('--report <file>', 'the failure report (default: <data-dir>/import-report.json)')
    .option('--restart', 'ignore what earlier runs did (state in <data-dir>/import-state.json)')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
Resources are written as PUT <Type>/<id> entries of transaction Bundles (--batch at a time, one
commit each), so each keeps its id; if the node refuses a Bundle, its resources are sent one by one
with PUT <node>/fhir/<Type>/<id>, so each failure is reported on its own. In a Bundle, the
entries' urn:uuid fullUrls become Type/<uuid> and every reference to them is rewritten.
Conditional references (Type?identifier=...) become Type/<id> of the one resource they name, found
among the imported files or else on the node; one that names none or several is sent as it is and
counted. Resource types the node does not serve are skipped and counted per type. A 503 or a connection error is retried up to 5 times.

Progress is saved in <data-dir>/import-state.json every 200 resources: run the same command again
after Ctrl-C or a crash and it resumes. The report lists each failure with its file, line or entry,
type, id, HTTP status and the node's diagnostics (never the resource content).

Exit status: 0 if nothing failed (skipped types are fine), 65 if some resources failed, 130 if
interrupted.

Example:
  $ careledger import ./synthea-r4 --node http://127.0.0.1:8701
  $ careledger import Patient.000.ndjson Encounter.000.ndjson --node http://127.0.0.1:8701 --json`,
    )
    .action(
      async (
        paths: string[],
        options: {
          node?: string;
          concurrency: string;
          batch: string;
          identity: string;
          purpose: string;
          report?: string;
          restart?: boolean;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        const dataDir = resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
        const nodeUrl = resolveNodeUrl(dataDir, options.node);
        const soft = new AbortController();
        const hard = new AbortController();
        const onSignal = () => {
          if (!soft.signal.aborted) {
            process.stderr.write(
              '\ninterrupted: finishing the requests in flight (Ctrl-C again to stop now)\n',
            );
            soft.abort();
          } else hard.abort();
        };
        process.on('SIGINT', onSignal);
        let result: ImportResult;
        try {
          result = await runImport({
            inputs: paths,
            nodeUrl,
            concurrency: parseConcurrency(options.concurrency),
            batchSize: parseBatchSize(options.batch),
            identity: options.identity,
            purpose: options.purpose,
            reportFile: options.report ?? join(dataDir, 'import-report.json'),
            stateFile: join(dataDir, 'import-state.json'),
            restart: options.restart === true,
            signal: soft.signal,
            hardSignal: hard.signal,
            quiet: options.quiet === true,
            ...(io.stderr === undefined ? {} : { progress: io.stderr }),
            ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
          });
        } finally {
          process.off('SIGINT', onSignal);
        }
        const { summary } = result;
        const stdout = io.stdout ?? process.stdout;
        stdout.write(
          options.json === true
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `${formatImportSummary(summary)}\n`,
        );
        if (summary.interrupted) {
          (io.exit ?? process.exit)(130);
          return;
        }
        if (summary.failed > 0)
          throw new CareLedgerError(
            'ERR_INVALID_INPUT',
            `${summary.failed} resource(s) failed; see ${summary.reportFile}`,
          );
      },
    );
}
