/** What every view needs: this node's identity, the consortium members, and the patient's unlocked key. */
import { getJson } from './api.js';

export interface NodeStatus {
  readonly name: string;
  readonly organization: string;
  readonly role: string;
  readonly address: string;
  readonly publicUrl: string;
  readonly logOrigin: string;
  readonly chain: { readonly chainId: number; readonly contracts: Record<string, string> };
  readonly sync?: Record<string, unknown>;
  readonly outbox?: Record<string, unknown>;
  readonly log?: Record<string, unknown>;
}

export interface Member {
  readonly address: string;
  readonly name: string;
  /** provider, lab, pharmacy, payer, research, manufacturer, distributor or licensing-board. */
  readonly role: string;
  readonly fhirBaseUrl: string;
  readonly logOrigin: string;
  readonly logVerifierKey: string;
  readonly status: string;
  readonly admittedBlock?: number;
}

let status: NodeStatus | undefined;
let members: Member[] | undefined;

export async function nodeStatus(refresh = false): Promise<NodeStatus> {
  if (status === undefined || refresh) status = await getJson<NodeStatus>('/status');
  return status;
}

export async function consortiumMembers(refresh = false): Promise<Member[]> {
  if (members === undefined || refresh)
    members = (await getJson<{ members: Member[] }>('/ledger/members')).members;
  return members;
}

export function memberName(address: string | undefined, list: readonly Member[] = members ?? []): string {
  if (address === undefined) return '';
  return list.find((m) => m.address.toLowerCase() === address.toLowerCase())?.name ?? address;
}

/** The FHIR base URL the SMART `aud` must name: this node's configured public URL + /fhir. */
export async function fhirBaseUrl(): Promise<string> {
  return `${(await nodeStatus()).publicUrl.replace(/\/$/, '')}/fhir`;
}

/** The patient's consent key, opened in this tab only: never stored, gone on reload or sign-out. */
let patientKey: { privateKey: Uint8Array; address: string } | undefined;

export function unlockedKey(): { privateKey: Uint8Array; address: string } | undefined {
  return patientKey;
}

export function setUnlockedKey(key: { privateKey: Uint8Array; address: string } | undefined): void {
  patientKey?.privateKey.fill(0);
  patientKey = key;
}
