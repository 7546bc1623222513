/**
 * What the netns consortium test does at a member over HTTPS (trusting the consortium CA), as its
 * clinician (bearer token) or, before one exists, its operator: FHIR writes and reads with log
 * proofs, checkpoints, patient registration at the desk, and patients' grants relayed.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { enrolLedgerKeyOverHttp } from '../../src/enrolment/index.js';
import { loadDeployment } from '../../src/ledger/index.js';
import { parseCheckpoint, parseVerifierKey, verifyNote, verifyTlogProof } from '../../src/log/index.js';
import { parseVersionProof, versionEntryOf } from '../../src/vault/version-proof.js';
import { signGrantForNewPatient } from './consent-signer.js';
import { type Clinician, type MemberFolder, waitFor } from './netns-consortium.js';

export interface MemberAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** The members are looked up at each call: `folders` and `clinicians` may be filled in later. */
export function createMemberApi(
  folders: Readonly<Record<string, MemberFolder>>,
  clinicians: Readonly<Record<string, Clinician | undefined>>,
  httpsFetch: typeof fetch,
) {
  async function call(
    member: string,
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<MemberAnswer> {
    const response = await httpsFetch(`${(folders[member] as MemberFolder).url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${clinicians[member]?.token ?? (folders[member] as MemberFolder).adminToken}`,
        'content-type': 'application/fhir+json',
        accept: 'application/fhir+json',
        ...init.headers,
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {}
    return { status: response.status, text, json };
  }

  async function createResource(member: string, resource: Record<string, unknown>): Promise<string> {
    const created = await call(member, `/fhir/${resource.resourceType as string}`, { body: resource });
    expect(created.status, created.text).toBe(201);
    return created.json.id as string;
  }

  /** The member's latest checkpoint, its signature checked with the member's log verifier key. */
  async function checkpointOf(member: string) {
    const answer = await call(member, '/log/checkpoint');
    expect(answer.status, answer.text).toBe(200);
    const verifier = parseVerifierKey((folders[member] as MemberFolder).member.logVerifierKey);
    const { text } = verifyNote(answer.text, [verifier], { minimum: 1 });
    return parseCheckpoint(text);
  }

  /** Reads a record with its version proof and checks its inclusion in the member's signed log. */
  async function verifyLogged(member: string, type: string, id: string): Promise<void> {
    const read = await call(member, `/fhir/${type}/${id}`, {
      headers: { 'x-careledger-version-proof': '1' },
    });
    expect(read.status, read.text).toBe(200);
    const served = read.json as unknown as Resource;
    const { proof } = parseVersionProof(served);
    let tlog = '';
    await waitFor(
      `a checkpoint of ${member} covers entry ${proof.index}`,
      async () => {
        const answer = await call(member, `/log/proof/${proof.index}`);
        tlog = answer.text;
        return answer.status === 200;
      },
      30,
    );
    verifyTlogProof(tlog, {
      logVerifier: parseVerifierKey((folders[member] as MemberFolder).member.logVerifierKey),
      entry: versionEntryOf(served),
    });
  }

  /** A patient at a member's desk: the Patient record, and their ledger key enrolled by proof of possession. */
  async function registerPatient(member: string, family: string, key: Hex): Promise<string> {
    const id = await createResource(member, {
      resourceType: 'Patient',
      name: [{ family, given: ['Pat'] }],
      birthDate: '1970-01-01',
    });
    await enrolLedgerKeyOverHttp({
      fhirBaseUrl: `${(folders[member] as MemberFolder).url}/fhir`,
      patientId: id,
      account: privateKeyToAccount(key),
      headers: { authorization: `Bearer ${clinicians[member]?.token}` },
      fetch: httpsFetch,
    });
    return id;
  }

  function signGrant(at: string, patientKey: Hex, grantee: string, categories: string[]) {
    const deployment = loadDeployment((folders[at] as MemberFolder).config.deploymentFile);
    return signGrantForNewPatient({
      chainId: deployment.chainId,
      consentRegistry: deployment.contracts.consentRegistry,
      grantee: (folders[grantee] as MemberFolder).member.account,
      categories,
      purposes: ['TREAT'],
      nowSeconds: Math.floor(Date.now() / 1000),
      patientKey,
    });
  }

  async function relayGrant(at: string, patientKey: Hex, grantee: string, categories: string[]) {
    const grant = await signGrant(at, patientKey, grantee, categories);
    const relayed = await call(at, '/ledger/consent/grants?wait=true', {
      body: grant.body,
      headers: { 'content-type': 'application/json' },
    });
    expect(relayed.status, relayed.text).toBeLessThan(300);
    return relayed.json;
  }

  return { call, createResource, checkpointOf, verifyLogged, registerPatient, signGrant, relayGrant };
}

export type MemberApi = ReturnType<typeof createMemberApi>;
