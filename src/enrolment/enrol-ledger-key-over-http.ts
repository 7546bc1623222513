import type { Hex, LocalAccount } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { createLedgerKeyProofTypedData, type LedgerKeyChallenge } from '../identity/ledger-key-proof.js';

export interface EnrolOverHttpOptions {
  /** The node's FHIR base, e.g. http://127.0.0.1:8701/fhir. */
  readonly fhirBaseUrl: string;
  readonly patientId: string;
  /** The patient's ledger key (it signs the challenge; it never leaves this process). */
  readonly account: LocalAccount;
  /** How the desk (or the patient) authenticates: `authorization`, or the development identity headers. */
  readonly headers: Record<string, string>;
  readonly fetch?: typeof fetch;
}

export interface EnrolOverHttpResult {
  readonly patient: string;
  readonly address: string;
  readonly previous: string | null;
  readonly changed: boolean;
}

/**
 * The client side of key enrolment: asks the node for a challenge for the key, checks that it names
 * that node's Patient and that key, signs it (EIP-712) and sends the signature back.
 */
export async function enrolLedgerKeyOverHttp(options: EnrolOverHttpOptions): Promise<EnrolOverHttpResult> {
  const doFetch = options.fetch ?? fetch;
  const base = options.fhirBaseUrl.replace(/\/$/, '');
  const post = async <T>(operation: string, body: unknown): Promise<T> => {
    const response = await doFetch(`${base}/Patient/${encodeURIComponent(options.patientId)}/${operation}`, {
      method: 'POST',
      headers: { ...options.headers, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json().catch(() => ({}))) as {
      issue?: { diagnostics?: string }[];
    } & T;
    if (!response.ok) {
      throw new CareLedgerError(
        response.status === 403 ? 'ERR_FORBIDDEN' : 'ERR_UPSTREAM',
        `${operation}: ${response.status} ${json.issue?.[0]?.diagnostics ?? ''}`.trim(),
        { details: { status: response.status } },
      );
    }
    return json;
  };
  const { challenge } = await post<{ challenge: LedgerKeyChallenge }>('$ledger-key-challenge', {
    key: options.account.address,
  });
  // Sign only what we asked for: this Patient and this key (the node is named in what is signed).
  if (
    challenge.patient !== `Patient/${options.patientId}` ||
    challenge.key.toLowerCase() !== options.account.address.toLowerCase()
  ) {
    throw new CareLedgerError('ERR_UPSTREAM', 'the node sent a challenge for another patient or key');
  }
  const signature: Hex = await options.account.signTypedData(createLedgerKeyProofTypedData(challenge));
  return post<EnrolOverHttpResult>('$enrol-ledger-key', { nonce: challenge.nonce, signature });
}
