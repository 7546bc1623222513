import { CareLedgerError } from '../errors/index.js';

/** How many times a shed request (503 with Retry-After) is repeated, and the longest wait honoured. */
const BUSY_RETRIES = 5;
const BUSY_WAIT_CAP_MS = 5_000;

/**
 * Calls a node's JSON API; a non-2xx answer becomes an error carrying the node's diagnostics.
 * A node under load sheds a request with 503 and `Retry-After` before handling it (RFC 9110
 * §10.2.3), so repeating it is safe for any method: it is repeated after the wait the node asks
 * for, a few times at most, then the 503 is reported like any other answer.
 */
export async function requestJson<T>(
  url: string,
  init: Parameters<typeof requestJsonOnce>[1] = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestJsonOnce<T>(url, init);
    } catch (error) {
      const retryAfter = (error as CareLedgerError).details?.retryAfterSeconds;
      if (typeof retryAfter !== 'number' || attempt >= BUSY_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfter * 1000, BUSY_WAIT_CAP_MS)));
    }
  }
}

async function requestJsonOnce<T>(
  url: string,
  init: {
    method?: string;
    body?: unknown;
    token?: string;
    timeoutMs?: number;
    headers?: Record<string, string>;
  } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
    });
  } catch (cause) {
    throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${new URL(url).origin} does not answer`, { cause });
  }
  const text = await response.text();
  const body = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const issue = (body as { issue?: { diagnostics?: string }[] } | undefined)?.issue?.[0]?.diagnostics;
    const code =
      (
        {
          401: 'ERR_UNAUTHENTICATED',
          403: 'ERR_FORBIDDEN',
          404: 'ERR_NOT_FOUND',
          410: 'ERR_GONE',
          412: 'ERR_PRECONDITION_FAILED',
          503: 'ERR_CHAIN_UNAVAILABLE',
        } as const
      )[response.status as 401] ?? 'ERR_INVALID_INPUT';
    const retryAfter =
      response.status === 503 ? Number(response.headers.get('retry-after') ?? Number.NaN) : Number.NaN;
    throw new CareLedgerError(code, `${new URL(url).pathname}: ${issue ?? `HTTP ${response.status}`}`, {
      details: {
        status: response.status,
        ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
      },
    });
  }
  return body as T;
}
