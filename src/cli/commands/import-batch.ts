import type { ResourceItem } from './import-sources.js';

/** Resources per transaction Bundle by default: one durable commit (and one AuditEvent per patient) each. */
export const DEFAULT_IMPORT_BATCH = 100;

/** What the node did with a Bundle of PUT entries. */
export type BatchOutcome =
  /** Committed: per entry, in order, whether it created the resource (201) or stored a new version (200). */
  | { readonly kind: 'stored'; readonly created: readonly boolean[] }
  /**
   * Not committed, for a reason that may be one entry's (a 4xx: invalid resource, a type not served,
   * a Bundle too large): each resource is then sent on its own, so each failure is reported as its own.
   */
  | { readonly kind: 'refused'; readonly status: number }
  /** No usable answer after the retries (503, 429, connection errors): the resources failed. */
  | { readonly kind: 'failed'; readonly status: number; readonly diagnostics: string }
  | { readonly kind: 'interrupted' };

export interface BatchSender {
  readonly doFetch: typeof fetch;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** Waits before retry `attempt` (Retry-After when the node gave one). */
  readonly wait: (attempt: number, retryAfter: string | null) => Promise<void>;
  /** Abandon the request in flight (second Ctrl-C). */
  readonly hard: AbortSignal;
  /** Stop retrying (first Ctrl-C). */
  readonly soft: AbortSignal;
  /** Counts each HTTP request and each retry. */
  readonly count: (what: 'request' | 'retry') => void;
}

/**
 * A transaction Bundle of `PUT <Type>/<id>` entries (R4 §3.1.0.11.2: all or nothing, ids kept, so a
 * repeated import writes the same resources): one request and one commit for many resources, where a
 * PUT per resource costs a commit and an AuditEvent each.
 */
export function createTransactionBundle(items: readonly ResourceItem[]): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: items.map((item) => ({
      resource: item.resource,
      request: { method: 'PUT', url: `${item.resourceType}/${item.id}` },
    })),
  });
}

/** Per entry of a transaction-response, whether it was created (`201 …`); undefined if it is not one. */
export function parseTransactionResponse(text: string, entries: number): boolean[] | undefined {
  try {
    const bundle = JSON.parse(text) as { type?: unknown; entry?: { response?: { status?: unknown } }[] };
    if (bundle.type !== 'transaction-response' || bundle.entry?.length !== entries) return undefined;
    const created: boolean[] = [];
    for (const entry of bundle.entry) {
      const status = String(entry.response?.status ?? '');
      if (!/^20[01]\b/.test(status)) return undefined;
      created.push(status.startsWith('201'));
    }
    return created;
  } catch {
    return undefined;
  }
}

/** POSTs the items as one transaction to `<base>` and says what became of them. */
export async function sendBatch(
  sender: BatchSender,
  base: string,
  items: readonly ResourceItem[],
): Promise<BatchOutcome> {
  const body = createTransactionBundle(items);
  for (let attempt = 0; ; attempt++) {
    if (sender.hard.aborted) return { kind: 'interrupted' };
    let failure: BatchOutcome;
    let retryAfter: string | null = null;
    sender.count('request');
    try {
      const response = await sender.doFetch(base, {
        method: 'POST',
        headers: sender.headers,
        body,
        signal: AbortSignal.any([AbortSignal.timeout(sender.timeoutMs), sender.hard]),
      });
      const text = await response.text();
      if (response.status === 200) {
        const created = parseTransactionResponse(text, items.length);
        if (created !== undefined) return { kind: 'stored', created };
        return { kind: 'failed', status: 200, diagnostics: 'the node answered with no transaction-response' };
      }
      if (response.status !== 503 && response.status !== 429) {
        return { kind: 'refused', status: response.status };
      }
      failure = { kind: 'failed', status: response.status, diagnostics: `HTTP ${response.status}` };
      retryAfter = response.headers.get('retry-after');
    } catch (cause) {
      if (sender.hard.aborted) return { kind: 'interrupted' };
      const reason = (cause as Error).name === 'TimeoutError' ? 'no answer in time' : 'connection failed';
      const code = ((cause as Error).cause as { code?: unknown } | undefined)?.code;
      failure = {
        kind: 'failed',
        status: 0,
        diagnostics: `${reason}${typeof code === 'string' ? ` (${code})` : ''}`,
      };
    }
    if (attempt >= sender.maxRetries || sender.soft.aborted)
      return sender.soft.aborted ? { kind: 'interrupted' } : failure;
    sender.count('retry');
    await sender.wait(attempt, retryAfter);
    if (sender.soft.aborted) return { kind: 'interrupted' };
  }
}
