import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createProgressBar, type ProgressStream } from '../progress-bar.js';
import { type BatchSender, DEFAULT_IMPORT_BATCH, sendBatch } from './import-batch.js';
import {
  createNodeLookup,
  defaultSleep,
  MAX_RETRIES,
  type Outcome,
  type PutSender,
  parseFhirBase,
  parseRetryAfter,
  putResource,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  readServedTypes,
} from './import-node.js';
import { applyResolvedReferences, resolveConditionalReferences } from './import-references.js';
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
import {
  type ImportFailure,
  type ImportResult,
  type ImportSummary,
  SKIPPED_NOT_SERVED,
  sortKeys,
} from './import-summary.js';

// The command's pieces, each in a module of its own duty; their public names stay importable from here.
export { parseFhirBase, parseRetryAfter } from './import-node.js';
export {
  formatImportSummary,
  type ImportFailure,
  type ImportIssue,
  type ImportResult,
  type ImportSummary,
  SKIPPED_NOT_SERVED,
} from './import-summary.js';

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
  const putSender: PutSender = {
    ...sender,
    base,
    now: () => clock.now(),
    sleep: (ms) => sleep(ms, stopping),
  };
  const put = (item: ResourceItem): Promise<Outcome> => putResource(putSender, item);

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

function loadStateUnlessRestart(file: string, restart: boolean): ImportState {
  try {
    return loadImportState(file);
  } catch (error) {
    // A corrupt state file is no obstacle to starting over.
    if (restart) return { version: 1, files: [] };
    throw error;
  }
}
