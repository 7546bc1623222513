/** Calls to this node's API with the signed-in user's token; errors carry the OperationOutcome's words. */

import { errorWords } from './error-words.js';
import { endSession, refreshSession, session } from './session.js';

/** One OperationOutcome issue: its words and the FHIRPath expressions it points at. */
export interface IssueDetail {
  readonly text: string;
  readonly expression: readonly string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly issues: readonly string[],
    readonly code: string | undefined,
    readonly details: readonly IssueDetail[] = [],
  ) {
    super(issues.join('; ') || `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** Dispatched on `window` when a request finds the session gone; the shell then asks to sign in. */
export const SESSION_ENDED_EVENT = 'careledger:session-ended';

/** The sign-in ended (expired, revoked, lost): the session is cleared and the person must sign in again. */
export class SessionEndedError extends Error {
  constructor() {
    super('Your session has ended. Please sign in again to continue.');
    this.name = 'SessionEndedError';
  }
}

interface Issue {
  severity?: string;
  diagnostics?: string;
  details?: { text?: string; coding?: { system?: string; code?: string }[] };
  expression?: string[];
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  let issues: string[] = [];
  let code: string | undefined;
  let details: IssueDetail[] = [];
  try {
    const body = JSON.parse(text) as { resourceType?: string; issue?: Issue[]; error_description?: string };
    if (body.resourceType === 'OperationOutcome' && Array.isArray(body.issue)) {
      issues = body.issue.map((i) => {
        const where = i.expression?.length ? ` (${i.expression.join(', ')})` : '';
        return `${i.diagnostics ?? i.details?.text ?? 'error'}${where}`;
      });
      details = body.issue.map((i) => ({
        text: i.diagnostics ?? i.details?.text ?? 'error',
        expression: i.expression ?? [],
      }));
      code =
        body.issue[0]?.details?.coding?.find((c) => c.system === 'urn:careledger:error-code')?.code ??
        body.issue[0]?.details?.text;
    } else if (typeof body.error_description === 'string') issues = [body.error_description];
  } catch {
    if (text.length > 0 && text.length < 300) issues = [text];
  }
  return new ApiError(response.status, issues, code, details);
}

export interface RequestOptions {
  readonly method?: string;
  /** JSON body; FHIR resources go as application/fhir+json. */
  readonly body?: unknown;
  readonly fhir?: boolean;
  readonly headers?: Record<string, string>;
  /** Admin endpoints: the operator token instead of the user's. */
  readonly bearer?: string;
}

export async function request(
  path: string,
  options: RequestOptions = {},
  retried = false,
  sheddingRetries = 0,
): Promise<Response> {
  const headers: Record<string, string> = {
    accept: 'application/fhir+json, application/json;q=0.9, */*;q=0.5',
    ...options.headers,
  };
  const token = options.bearer ?? session()?.accessToken;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) {
    headers['content-type'] = options.fhir === false ? 'application/json' : 'application/fhir+json';
  }
  const response = await fetch(path, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  if (response.status === 401 && options.bearer === undefined && token !== undefined) {
    if (!retried && (await refreshSession())) return request(path, options, true);
    // The token is expired, revoked or unreadable and cannot be renewed: a raw "access token is not
    // valid (malformed)" means nothing to a patient, so the session goes and they are asked to sign in.
    endSession();
    window.dispatchEvent(new Event(SESSION_ENDED_EVENT));
    throw new SessionEndedError();
  }
  // A busy node sheds a request before any work with 503 and Retry-After (RFC 9110 §10.2.3): wait
  // as it asks, a few times, rather than show the person an error for a moment's load.
  if (response.status === 503 && sheddingRetries < MAX_SHED_RETRIES) {
    const seconds = Number(response.headers.get('retry-after'));
    if (Number.isFinite(seconds) && seconds >= 0 && seconds <= MAX_SHED_WAIT_SECONDS) {
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      return request(path, options, retried, sheddingRetries + 1);
    }
  }
  if (!response.ok) throw await toApiError(response);
  return response;
}

const MAX_SHED_RETRIES = 3;
const MAX_SHED_WAIT_SECONDS = 5;

/**
 * A request without the signed-in user's token (the telehealth share's recipient has no account): a
 * 401 here is the share's answer, not the end of someone's session.
 */
export async function publicJson<T>(
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: {
      accept: 'application/fhir+json, application/json;q=0.9',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (!response.ok) throw await toApiError(response);
  return (await response.json()) as T;
}

export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await (await request(path, options)).json()) as T;
}

export async function sendJson<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, { ...options, body });
  const text = await response.text();
  return (text === '' ? {} : JSON.parse(text)) as T;
}

/** Every resource of a FHIR searchset Bundle, following `next` links up to `maxPages`. */
export async function searchAll<T>(path: string, options: RequestOptions = {}, maxPages = 10): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = path;
  for (let page = 0; next !== undefined && page < maxPages; page++) {
    const bundle: {
      entry?: { resource?: T; search?: { mode?: string } }[];
      link?: { relation: string; url: string }[];
    } = await getJson(next, options);
    for (const e of bundle.entry ?? [])
      if (e.resource !== undefined && e.search?.mode !== 'outcome') out.push(e.resource);
    const link = bundle.link?.find((l) => l.relation === 'next')?.url;
    // Same origin only: follow the path, whatever host the server wrote.
    next =
      link === undefined || (bundle.entry ?? []).length === 0
        ? undefined
        : new URL(link).pathname + new URL(link).search;
  }
  return out;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return errorWords(error.status, error.message);
  return (error as Error).message ?? String(error);
}
