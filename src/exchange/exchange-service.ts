import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle, Extension, Provenance, Resource } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import { evaluateTokenScopes, LEDGER_ADDRESS_SYSTEM, patientLedgerAddress } from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { isPatientCompartmentType } from '../fhir/compartment/patient-compartments.js';
import { STORED_RESOURCE_TYPES } from '../fhir/r4-resource-types.js';
import type { HashSigner } from '../smart/address-jwt.js';
import type { IndexedMember } from '../sync/index-storage.js';
import type { FhirRepository } from '../vault/fhir-repository.js';
import { parseVersionProof } from '../vault/version-proof.js';
import { grantCoverageWords, parseIdentificationParameters } from './identification-parameters.js';
import { MemberClient } from './member-client.js';
import { type Anchor, MemberLogVerifier, type ProofStatus } from './member-log-verifier.js';

/** Where received records come from: meta.tag system, code = the source member's ledger address. */
export const RECEIVED_FROM_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/received-from';
/** The Provenance extension naming the checkpoint a pull was verified against. */
export const VERIFIED_AGAINST_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/verified-against';

/** What the exchange needs of the ledger index. */
export interface ExchangeIndex {
  member(address: Address): Promise<IndexedMember | undefined>;
  anchors(origin: string): Promise<{ treeSize: number; rootHash: string }[]>;
  recordLocations(patient: Address): Promise<Address[]>;
}

export interface ExchangeServiceOptions {
  /** This member: its ledger address, display name, and a signer with its ledger key. */
  readonly self: { readonly address: Address; readonly name: string; readonly sign: HashSigner };
  readonly index: ExchangeIndex;
  readonly repository: FhirRepository;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
}

export interface RefusedRecord {
  /** `Type/id/_history/v` at the source member (ids only, never content). */
  readonly reference: string;
  readonly reason: string;
  readonly message: string;
}

export interface MemberPullReport {
  readonly member: Address;
  readonly name: string;
  readonly status: 'ok' | 'refused' | 'error';
  /** Why the member refused or failed (its OperationOutcome, or the transport error). */
  readonly error?: string;
  readonly received: number;
  readonly kept: number;
  /** Already held, same source version: not stored twice. */
  readonly unchanged: number;
  readonly refused: readonly RefusedRecord[];
  /** The data categories the patient's grant lets this member receive for the purpose (when it answered). */
  readonly covers?: readonly string[];
  /** The same in words, for the clinician ("the patient's grant covers Laboratory results for treatment; …"). */
  readonly coverage?: string;
  /** The Provenance written for what was kept. */
  readonly provenance?: string;
}

export interface PullReport {
  readonly patient: string;
  readonly members: readonly MemberPullReport[];
}

/** A record from another member, for the patient's merged view, with its proof status. */
export interface RecordView {
  readonly member: Address;
  readonly memberName: string;
  readonly resource: Resource;
  readonly verification: ProofStatus;
}

export interface AccessView {
  readonly member: Address;
  readonly memberName: string;
  readonly auditEvent: AuditEvent;
  readonly tlogProof?: string;
  readonly verification: ProofStatus;
}

export interface PatientView {
  readonly members: readonly { address: Address; name: string; status: 'ok' | 'error'; error?: string }[];
  readonly records: readonly RecordView[];
  readonly accessHistory: readonly AccessView[];
}

/**
 * Security review F13: what is kept is written here as `update`s with the requester's token, followed
 * by a Provenance `create`; a token that may do neither (a read-only `user/*.rs`) would make every
 * other member disclose the patient's records (and log the disclosure in their history) only for all
 * of them to be refused here. So the token's scopes are checked before any member is asked.
 */
function verifyMayKeep(context: AccessContext): void {
  const keeps = isPatientCompartmentWritable(context);
  const provenance = evaluateTokenScopes(context, 'create', 'Provenance');
  if (keeps && provenance.allowed) return;
  throw new CareLedgerError(
    'ERR_FORBIDDEN',
    'insufficient scope: fetching from other members keeps their records here (update) with a Provenance (create)',
    { details: { oauth: 'insufficient_scope' } },
  );
}

/** Whether the token may update records of at least one type of a patient's compartment (but Patient). */
function isPatientCompartmentWritable(context: AccessContext): boolean {
  return STORED_RESOURCE_TYPES.some(
    (type) =>
      type !== 'Patient' &&
      isPatientCompartmentType(type) &&
      evaluateTokenScopes(context, 'update', type).allowed,
  );
}

/**
 * Records move between members (ARCHITECTURE §4 flow 3). As the receiving member B, for a clinician
 * and a purpose: find where the patient's records are (RecordLocator on the ledger), ask each holder A
 * with SMART Backend Services, check every version against A's anchored log, keep what verifies with a
 * Provenance naming A, and report what was refused and why. For a patient signed in here: gather
 * their records and access history from every member with their own signed assertions, each with
 * its proof status.
 */
export class ExchangeService {
  constructor(private readonly options: ExchangeServiceOptions) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** The members holding records of a ledger address, with what the ledger says of them. */
  async holders(address: Address, options: { includeSelf: boolean }): Promise<IndexedMember[]> {
    const out: IndexedMember[] = [];
    for (const location of await this.options.index.recordLocations(address)) {
      if (!options.includeSelf && getAddress(location) === getAddress(this.options.self.address)) continue;
      const member = await this.options.index.member(location);
      if (member !== undefined && member.status === 'active') out.push(member);
    }
    return out;
  }

  private client(member: IndexedMember): MemberClient {
    return new MemberClient({
      member: { address: member.address, name: member.name, fhirBaseUrl: member.fhirBaseUrl },
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
    });
  }

  private verifier(member: IndexedMember, client: MemberClient): MemberLogVerifier {
    return new MemberLogVerifier({
      member,
      latestAnchor: async (): Promise<Anchor | undefined> => {
        const anchors = await this.options.index.anchors(member.logOrigin);
        return anchors.at(-1);
      },
      fetchLog: (path) => client.readLog(path),
      fetchProofs: (indices) => client.readProofs(indices),
    });
  }

  /** The ledger address of a Patient here (read as `context`), or ERR_PRECONDITION_FAILED if it has none. */
  async ledgerAddressOf(patientId: string, context: AccessContext): Promise<Address> {
    const patient = await this.options.repository.read('Patient', patientId, context);
    const address = patientLedgerAddress(patient);
    if (address === undefined) {
      throw new CareLedgerError(
        'ERR_PRECONDITION_FAILED',
        'the patient has no ledger address: records at other members cannot be located or consented',
      );
    }
    return address;
  }

  /**
   * Fetches the patient's records from every other member holding some, for `context` (a clinician
   * here) and `purpose`, and keeps what verifies. One member's refusal or failure does not stop the
   * others; each is reported.
   */
  async pull(
    patientId: string,
    context: AccessContext,
    request: { purpose: string; practitioner?: Address },
  ): Promise<PullReport> {
    verifyMayKeep(context);
    const address = await this.ledgerAddressOf(patientId, context);
    const reports: MemberPullReport[] = [];
    for (const member of await this.holders(address, { includeSelf: false })) {
      reports.push(await this.pullFrom(member, address, patientId, context, request));
    }
    return { patient: `Patient/${patientId}`, members: reports };
  }

  private async pullFrom(
    member: IndexedMember,
    address: Address,
    patientId: string,
    context: AccessContext,
    request: { purpose: string; practitioner?: Address },
  ): Promise<MemberPullReport> {
    const client = this.client(member);
    const base = {
      member: member.address,
      name: member.name,
      received: 0,
      kept: 0,
      unchanged: 0,
      refused: [],
    };
    let resources: Resource[];
    let sourcePatient: string;
    let covers: readonly string[] = [];
    try {
      const token = await client.memberToken(
        { address: this.options.self.address, sign: this.options.self.sign },
        {
          purpose: request.purpose,
          ...(request.practitioner === undefined ? {} : { practitioner: request.practitioner }),
        },
      );
      // Issue 22 item 1: any grant lets the member match the patient's ledger address to its own
      // Patient id; only the granted categories then move ($everything judges each record).
      const identified = parseIdentificationParameters(
        await client.readFhir<unknown>(
          `Patient/$identify?identifier=${encodeURIComponent(`${LEDGER_ADDRESS_SYSTEM}|${address}`)}`,
          token,
        ),
      );
      if (identified === undefined) {
        return { ...base, status: 'error', error: `${member.name} named no patient for the ledger address` };
      }
      sourcePatient = identified.patientId;
      covers = identified.categories;
      const everything = await client.readFhir<Bundle>(`Patient/${sourcePatient}/$everything`, token);
      resources = (everything.entry ?? [])
        .map((e) => e.resource)
        .filter((r): r is Resource => r !== undefined);
    } catch (error) {
      if (!isCareLedgerError(error)) throw error;
      const status =
        error.code === 'ERR_CONSENT_DENIED' || error.code === 'ERR_UNAUTHENTICATED' ? 'refused' : 'error';
      return {
        ...base,
        status,
        error:
          status === 'refused'
            ? `${error.message} (the refusal is in the patient's access history there)`
            : error.message,
      };
    }
    const verifier = this.verifier(member, client);
    const refused: RefusedRecord[] = [];
    const keptRefs: string[] = [];
    const sources: string[] = [];
    let unchanged = 0;
    let checkpoint: { origin: string; size: number } | undefined;
    await verifier.prefetch(resources.map(servedIndex).filter((i) => i !== undefined));
    const verifications = await mapConcurrently(resources, VERIFY_CONCURRENCY, (r) =>
      verifier.verifyVersion(r),
    );
    for (const [i, served] of resources.entries()) {
      const reference = `${served.resourceType}/${served.id}/_history/${served.meta?.versionId ?? '?'}`;
      const verification = verifications[i] as ProofStatus;
      if (verification.status === 'failed') {
        refused.push({ reference, reason: verification.reason, message: verification.message });
        continue;
      }
      checkpoint = verification.checkpoint;
      if (served.resourceType === 'Patient') continue; // this member keeps its own Patient record
      const source = `${member.fhirBaseUrl.replace(/\/$/, '')}/${reference}`;
      const copy = receivedCopy(parseVersionProof(served).resource, {
        source,
        member,
        from: `Patient/${sourcePatient}`,
        to: `Patient/${patientId}`,
      });
      try {
        if ((await this.options.repository.currentSource(copy.resourceType, copy.id as string)) === source) {
          unchanged++;
          continue;
        }
        const { resource } = await this.options.repository.update(copy, context);
        keptRefs.push(`${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`);
        sources.push(source);
      } catch (error) {
        if (!isCareLedgerError(error)) throw error;
        refused.push({ reference, reason: 'rejected-here', message: error.message });
      }
    }
    let provenance: string | undefined;
    if (keptRefs.length > 0 && checkpoint !== undefined) {
      const created = await this.options.repository.create(
        createReceiptProvenance({
          targets: keptRefs,
          sources,
          patient: `Patient/${patientId}`,
          member,
          self: this.options.self,
          who: context.who,
          purpose: request.purpose,
          recorded: this.now().toISOString(),
          checkpoint,
        }),
        context,
      );
      provenance = `Provenance/${created.id}`;
    }
    return {
      ...base,
      status: 'ok',
      covers,
      coverage: grantCoverageWords(covers, request.purpose),
      received: resources.length,
      kept: keptRefs.length,
      unchanged,
      refused,
      ...(provenance === undefined ? {} : { provenance }),
    };
  }

  /**
   * The audiences a patient signs assertions for: the token endpoint of every member holding their
   * records (this one included: its records are checked against its own anchored log the same way).
   */
  async patientAudiences(address: Address): Promise<{ address: Address; name: string; audience: string }[]> {
    return (await this.holders(address, { includeSelf: true })).map((m) => ({
      address: m.address,
      name: m.name,
      audience: this.client(m).tokenEndpoint,
    }));
  }

  /**
   * The patient's merged view: with one signed assertion per member, their records and the access
   * history of their records at every member, each checked against that member's anchored log.
   */
  async collectForPatient(address: Address, assertions: ReadonlyMap<string, string>): Promise<PatientView> {
    const members: { address: Address; name: string; status: 'ok' | 'error'; error?: string }[] = [];
    const records: RecordView[] = [];
    const accessHistory: AccessView[] = [];
    for (const member of await this.holders(address, { includeSelf: true })) {
      const assertion = assertions.get(member.address.toLowerCase());
      if (assertion === undefined) {
        members.push({
          address: member.address,
          name: member.name,
          status: 'error',
          error: 'no assertion signed for this member',
        });
        continue;
      }
      const client = this.client(member);
      const verifier = this.verifier(member, client);
      try {
        const { accessToken, patient } = await client.patientToken(assertion);
        const everything = await client.readFhir<Bundle>(`Patient/${patient}/$everything`, accessToken);
        const served = (everything.entry ?? [])
          .map((e) => e.resource)
          .filter((r): r is Resource => r !== undefined && r.resourceType !== 'AuditEvent');
        await verifier.prefetch(served.map(servedIndex).filter((i) => i !== undefined));
        const statuses = await mapConcurrently(served, VERIFY_CONCURRENCY, (r) => verifier.verifyVersion(r));
        for (const [i, resource] of served.entries()) {
          records.push({
            member: member.address,
            memberName: member.name,
            resource: parseVersionProofOrSelf(resource),
            verification: statuses[i] as ProofStatus,
          });
        }
        const audits = await client.readFhir<Bundle>(
          `AuditEvent?patient=Patient/${patient}&_count=1000&_sort=-date`,
          accessToken,
        );
        const events = (audits.entry ?? [])
          .map((e) => e.resource)
          .filter((r): r is AuditEvent => r?.resourceType === 'AuditEvent');
        await verifier.prefetch(events.map(servedIndex).filter((i) => i !== undefined));
        const checked = await mapConcurrently(events, VERIFY_CONCURRENCY, (r) =>
          verifier.verifyAuditEvent(r),
        );
        for (const [i, resource] of events.entries()) {
          const verification = checked[i] as ProofStatus;
          const tlogProof =
            verification.status === 'verified'
              ? await verifier.proofText(verification.index).catch(() => undefined)
              : undefined;
          accessHistory.push({
            member: member.address,
            memberName: member.name,
            auditEvent: resource,
            ...(tlogProof === undefined ? {} : { tlogProof }),
            verification,
          });
        }
        members.push({ address: member.address, name: member.name, status: 'ok' });
      } catch (error) {
        if (!isCareLedgerError(error)) throw error;
        members.push({ address: member.address, name: member.name, status: 'error', error: error.message });
      }
    }
    accessHistory.sort((a, b) => (b.auditEvent.recorded ?? '').localeCompare(a.auditEvent.recorded ?? ''));
    return {
      members,
      records: mergeCopies(records, await this.holders(address, { includeSelf: true })),
      accessHistory,
    };
  }
}

/**
 * One entry per record: a copy a member received from another (meta.source naming that member's
 * version) is dropped when the original is in the view too, so the patient sees each result once, from
 * the member that produced it.
 */
function mergeCopies(records: RecordView[], members: readonly IndexedMember[]): RecordView[] {
  const originals = new Set<string>();
  for (const r of records) {
    const base = members.find((m) => m.address === r.member)?.fhirBaseUrl.replace(/\/$/, '');
    if (base !== undefined)
      originals.add(
        `${base}/${r.resource.resourceType}/${r.resource.id}/_history/${r.resource.meta?.versionId}`,
      );
  }
  return records.filter(
    (r) => r.resource.meta?.source === undefined || !originals.has(r.resource.meta.source),
  );
}

/** The log index a served record or AuditEvent names (version-proof or log-entry extension). */
function servedIndex(resource: Resource): number | undefined {
  const extensions = [
    ...(resource.meta?.extension ?? []),
    ...((resource as { extension?: Extension[] }).extension ?? []),
  ];
  for (const e of extensions) {
    if (!e.url.endsWith('/version-proof') && !e.url.endsWith('/log-entry')) continue;
    const index = e.extension?.find((x) => x.url === 'index')?.valueInteger;
    if (typeof index === 'number') return index;
  }
  return undefined;
}

/** Proof fetches in flight per member: round trips overlap, the member is not flooded. */
const VERIFY_CONCURRENCY = 8;

async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function parseVersionProofOrSelf(resource: Resource): Resource {
  try {
    return parseVersionProof(resource).resource;
  } catch {
    return resource;
  }
}

/**
 * The copy B keeps: A's content, re-pointed at B's own Patient, with `meta.source` naming A's exact
 * version and a tag naming A; B assigns its own version and time.
 */
export function receivedCopy(
  resource: Resource,
  options: { source: string; member: { address: string; name: string }; from: string; to: string },
): Resource {
  const repoint = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(repoint);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        out[k] = k === 'reference' && v === options.from ? options.to : repoint(v);
      return out;
    }
    return value;
  };
  const { meta, ...rest } = repoint(resource) as Resource;
  const { versionId: _v, lastUpdated: _l, source: _s, ...keptMeta } = meta ?? {};
  return {
    ...rest,
    meta: {
      ...keptMeta,
      source: options.source,
      tag: [
        ...(keptMeta.tag ?? []).filter((t) => t.system !== RECEIVED_FROM_SYSTEM),
        {
          system: RECEIVED_FROM_SYSTEM,
          code: getAddress(options.member.address),
          display: options.member.name,
        },
      ],
    },
  } as Resource;
}

/** The Provenance of one pull: B received these versions from A, verified against A's checkpoint. */
export function createReceiptProvenance(input: {
  targets: readonly string[];
  sources: readonly string[];
  patient: string;
  member: { address: string; name: string; fhirBaseUrl: string };
  self: { address: string; name: string };
  who: string;
  purpose: string;
  recorded: string;
  checkpoint: { origin: string; size: number };
}): Provenance {
  const org = (m: { address: string; name: string }) => ({
    identifier: { system: 'https://careledger.dev/fhir/sid/ledger-address', value: getAddress(m.address) },
    display: m.name,
  });
  return {
    resourceType: 'Provenance',
    id: randomUUID(),
    target: [...input.targets.map((reference) => ({ reference })), { reference: input.patient }],
    recorded: input.recorded,
    reason: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: input.purpose }] },
    ],
    activity: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
          code: 'CREATE',
          display: 'create',
        },
      ],
      text: 'received from another consortium member after verifying each version against its anchored log',
    },
    agent: [
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' },
          ],
        },
        who: org(input.member),
      },
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'custodian',
            },
          ],
        },
        who: org(input.self),
      },
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'enterer' },
          ],
        },
        who: { reference: input.who },
      },
    ],
    entity: input.sources.map((source) => ({ role: 'source' as const, what: { reference: source } })),
    extension: [
      {
        url: VERIFIED_AGAINST_EXTENSION,
        extension: [
          { url: 'origin', valueString: input.checkpoint.origin },
          { url: 'size', valueInteger: input.checkpoint.size },
        ],
      },
    ],
  };
}
