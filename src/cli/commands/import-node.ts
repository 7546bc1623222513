import { CareLedgerError } from '../../errors/index.js';
import type { BatchSender } from './import-batch.js';
import type { LookupConditionalReference } from './import-references.js';
import type { ResourceItem } from './import-sources.js';
import type { ImportIssue } from './import-summary.js';

export const MAX_RETRIES = 5;
export const RETRY_BASE_MS = 250;
export const RETRY_CAP_MS = 30_000;

export const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
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
export async function readServedTypes(
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

export type Outcome =
  | { kind: 'loaded'; created: boolean }
  | { kind: 'skipped' }
  | { kind: 'failed'; status: number; issues: ImportIssue[] }
  | { kind: 'interrupted' };

/** Where single PUTs go, and how their retries wait (the sleep already bound to the stop signals). */
export interface PutSender extends BatchSender {
  readonly base: string;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** PUT `<node>/fhir/<Type>/<id>` of one resource, retried on 503, 429 and connection errors. */
export async function putResource(sender: PutSender, item: ResourceItem): Promise<Outcome> {
  const { base, doFetch, headers, timeoutMs, hard, soft } = sender;
  const url = `${base}/${item.resourceType}/${encodeURIComponent(item.id)}`;
  const body = JSON.stringify(item.resource);
  for (let attempt = 0; ; attempt++) {
    if (hard.aborted) return { kind: 'interrupted' };
    let retryAfter: number | undefined;
    let failure: Outcome;
    sender.count('request');
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
      retryAfter = parseRetryAfter(response.headers.get('retry-after'), sender.now());
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
    if (attempt >= sender.maxRetries || soft.aborted) return soft.aborted ? { kind: 'interrupted' } : failure;
    sender.count('retry');
    await sender.sleep(Math.min(RETRY_CAP_MS, retryAfter ?? RETRY_BASE_MS * 2 ** attempt));
    if (soft.aborted) return { kind: 'interrupted' };
  }
}

/** Asks the node's search for a conditional reference's single match (R4 §3.1.0.11.2). */
export function createNodeLookup(
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
