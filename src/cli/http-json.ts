import { CareLedgerError } from '../errors/index.js';

/** Calls a node's JSON API; a non-2xx answer becomes an error carrying the node's diagnostics. */
export async function requestJson<T>(
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
    throw new CareLedgerError(code, `${new URL(url).pathname}: ${issue ?? `HTTP ${response.status}`}`, {
      details: { status: response.status },
    });
  }
  return body as T;
}
