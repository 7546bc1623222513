import { randomUUID } from 'node:crypto';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { type HashSigner, signAddressJwt } from '../smart/address-jwt.js';

/** Another member's node, as the ledger names it. */
export interface MemberEndpoint {
  readonly address: string;
  readonly name: string;
  /** The member's FHIR base URL from ConsortiumRegistry (`https://…/fhir`). */
  readonly fhirBaseUrl: string;
}

export interface MemberClientOptions {
  readonly member: MemberEndpoint;
  readonly fetch?: typeof fetch;
  /** Per request; the other member may be down, and a pull must not hang on it. */
  readonly timeoutMs?: number;
  /** Seconds since the epoch (assertions' iat/exp). */
  readonly nowSeconds?: () => number;
}

/** Why another member refused or failed a request: its OperationOutcome's first diagnostics. */
function outcomeText(body: unknown): string | undefined {
  const outcome = body as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome') return undefined;
  return outcome.issue?.[0]?.diagnostics ?? outcome.issue?.[0]?.details?.text;
}

/**
 * HTTP to another member's node: SMART Backend Services tokens obtained with a client assertion
 * signed by this member's ledger key (ES256K; the other member knows it from the ledger, so no
 * registration between members), or with a patient's own assertion (RFC 7523); then FHIR reads.
 * Failures are ERR_UPSTREAM with the member's reason; a 403 is ERR_CONSENT_DENIED.
 */
export class MemberClient {
  readonly base: string;
  readonly tokenEndpoint: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: MemberClientOptions) {
    this.base = options.member.fhirBaseUrl.replace(/\/fhir\/?$/, '');
    this.tokenEndpoint = `${this.base}/oauth/token`;
    this.fetch = options.fetch ?? fetch;
  }

  private nowSeconds(): number {
    return this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
  }

  /** client_credentials as a consortium member, for a purpose, optionally for an attested practitioner. */
  async memberToken(
    self: { address: string; sign: HashSigner },
    request: { purpose: string; practitioner?: string },
  ) {
    const now = this.nowSeconds();
    const assertion = await signAddressJwt(
      {
        iss: self.address,
        sub: self.address,
        aud: this.tokenEndpoint,
        iat: now,
        exp: now + 60,
        jti: randomUUID(),
      },
      self.address,
      self.sign,
    );
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      scope: 'system/*.rs',
      purpose_of_use: request.purpose,
      ...(request.practitioner === undefined ? {} : { practitioner: request.practitioner }),
    });
    return (await this.token(form)).access_token;
  }

  /** RFC 7523 jwt-bearer grant with the patient's own signed assertion: a token for their records. */
  async patientToken(assertion: string): Promise<{ accessToken: string; patient: string }> {
    const body = await this.token(
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion,
        scope: 'patient/*.rs',
      }),
    );
    if (typeof body.patient !== 'string')
      throw this.upstream('the member named no patient for the assertion');
    return { accessToken: body.access_token, patient: body.patient };
  }

  private async token(form: URLSearchParams): Promise<{ access_token: string; patient?: string }> {
    const response = await this.request(this.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const body = (await response.json().catch(() => undefined)) as
      | { access_token?: string; patient?: string; error?: string; error_description?: string }
      | undefined;
    if (!response.ok || typeof body?.access_token !== 'string') {
      throw new CareLedgerError(
        response.status === 400 || response.status === 401 ? 'ERR_UNAUTHENTICATED' : 'ERR_UPSTREAM',
        `${this.options.member.name} refused the token request: ${body?.error_description ?? body?.error ?? response.status}`,
        { details: { reason: body?.error ?? 'token', member: this.options.member.address } },
      );
    }
    return {
      access_token: body.access_token,
      ...(body.patient === undefined ? {} : { patient: body.patient }),
    };
  }

  /** A FHIR GET (path relative to the FHIR base), asking for version proofs. */
  async readFhir<T>(path: string, accessToken: string): Promise<T> {
    const response = await this.request(`${this.options.member.fhirBaseUrl.replace(/\/$/, '')}/${path}`, {
      headers: {
        accept: 'application/fhir+json',
        authorization: `Bearer ${accessToken}`,
        'x-careledger-version-proof': '1',
      },
    });
    const body = (await response.json().catch(() => undefined)) as unknown;
    if (response.status === 403) {
      throw new CareLedgerError(
        'ERR_CONSENT_DENIED',
        `${this.options.member.name} refused: ${outcomeText(body) ?? 'forbidden'}`,
        {
          details: { reason: 'refused-by-member', member: this.options.member.address },
        },
      );
    }
    if (!response.ok)
      throw this.upstream(
        `${this.options.member.name} answered ${response.status}: ${outcomeText(body) ?? 'error'}`,
      );
    return body as T;
  }

  /** A text GET of the member's log (tlog-proof, consistency proof). */
  async readLog(path: string): Promise<string> {
    const response = await this.request(`${this.base}${path}`, {});
    const text = await response.text();
    if (response.status === 404 && path.startsWith('/log/proof/')) {
      throw new CareLedgerError(
        'ERR_LOG_PROOF_INVALID',
        "the entry is newer than the member's latest checkpoint; ask again in a few seconds",
        {
          details: { reason: 'not-yet-checkpointed', member: this.options.member.address },
        },
      );
    }
    if (!response.ok) throw this.upstream(`${this.options.member.name}'s log answered ${response.status}`);
    return text;
  }

  /**
   * Many tlog-proofs in one request (`POST /log/proofs`): index → proof text, or null where no
   * checkpoint covers the entry yet. Undefined if the member does not offer it (then ask one by one).
   */
  async readProofs(indices: readonly number[]): Promise<Map<number, string | null> | undefined> {
    const out = new Map<number, string | null>();
    for (let start = 0; start < indices.length; start += 1000) {
      const response = await this.request(`${this.base}/log/proofs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ indices: indices.slice(start, start + 1000) }),
      });
      if (response.status === 404 || response.status === 405) return undefined;
      const body = (await response.json().catch(() => undefined)) as
        | { proofs?: Record<string, string | null> }
        | undefined;
      if (!response.ok || body?.proofs === undefined)
        throw this.upstream(`${this.options.member.name}'s log answered ${response.status}`);
      for (const [index, proof] of Object.entries(body.proofs)) out.set(Number(index), proof);
    }
    return out;
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetch(url, {
        ...init,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (cause) {
      throw new CareLedgerError('ERR_UPSTREAM', `${this.options.member.name} is unreachable`, {
        cause,
        details: { reason: 'unreachable', member: this.options.member.address },
      });
    }
  }

  private upstream(message: string): CareLedgerError {
    return new CareLedgerError('ERR_UPSTREAM', message, { details: { member: this.options.member.address } });
  }
}
