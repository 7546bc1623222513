/**
 * One release in the making: the study, its profile and key, the consent snapshot's cohort, and the
 * k-anonymity decision taken over the whole cohort before any file is written. Pages the bulk export
 * reads come through {@link transformPage}: resources of suppressed patients, of other types or of
 * categories the study did not ask for are left out; the rest are de-identified.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { categorizeResource } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { ExportedResource, ExportPage, ExportPageRequest, ExportSource } from '../../export/index.js';
import type { DeidProfile } from '../deid-profile.js';
import { deidentifyResource, type FhirResource } from '../deidentify-resource.js';
import {
  checkKAnonymity,
  createQuasiIdentifiedRecord,
  equivalenceSignature,
  type QuasiIdentifiedRecord,
} from '../k-anonymity.js';
import { GENERAL_RESEARCH_ADDRESS, type Study, studyGrantee } from '../study.js';
import { createKLink, createResourcePseudonym, derivePatientShiftDays } from '../study-pseudonym.js';
import type { KRoundEntry } from './k-round.js';
import type { KRoundResult } from './k-round-client.js';
import { canonicalJson, type ReleaseCounts, type ReleaseRound } from './release-manifest.js';
import type { CohortMember } from './release-ports.js';

/** What the k decision and a consented read need of the export's source. */
type PageReader = Pick<ExportSource, 'readPage'>;

const PATIENTS_PER_PAGE = 100;
const RESOURCES_PER_PAGE = 200;

/** The pages a plan holding none of the cohort reads for its k decision: none. */
const NO_PAGES: PageReader = {
  readPage: () =>
    Promise.reject(new CareLedgerError('ERR_INTERNAL', 'a release holding none of the cohort read a page')),
};

export interface ReleasePlanInput {
  readonly study: Study;
  readonly profile: DeidProfile;
  readonly profileHash: Hex;
  readonly studyKey: Uint8Array;
  readonly consentBlock: bigint;
  readonly cohort: readonly CohortMember[];
  /** The researcher's own context (who, client, scopes): the owner of the job and the audited agent. */
  readonly requester: AccessContext;
  /** The instant ages are computed at (Safe Harbor's over-89 rule): the release's own time. */
  readonly asOf: Date;
  /** The k round across members this release is part of (k-round.ts); without one, k is this member's. */
  readonly round?: {
    readonly id: string;
    decide(entries: readonly KRoundEntry[], signal?: AbortSignal): Promise<KRoundResult>;
  };
}

/**
 * The requester reading for a study: purpose HRESCH and, as the grantee the access policy checks the
 * patient's consent against, the study's address (or the general research address, see below).
 */
export function studyContext(requester: AccessContext, study: Study, grantee?: Address): AccessContext {
  return { ...requester, purpose: 'HRESCH', member: grantee ?? studyGrantee(study.id) };
}

export class ReleasePlan {
  readonly study: Study;
  readonly context: AccessContext;
  /** Local Patient id → its cohort member. */
  readonly members: ReadonlyMap<string, CohortMember>;
  private kDecision: Promise<void> | undefined;
  private suppressedPatients = new Set<Address>();
  private kCounts:
    | Omit<ReleaseCounts, 'contributors' | 'records' | 'suppressedRecords' | 'cohort'>
    | undefined;
  private readonly contributing = new Set<Address>();
  private roundResult: KRoundResult | undefined;
  private records = 0;
  private suppressedRecords = 0;

  constructor(readonly input: ReleasePlanInput) {
    this.study = input.study;
    this.context = studyContext(input.requester, input.study);
    const members = new Map<string, CohortMember>();
    for (const member of input.cohort) for (const id of member.patientIds) members.set(id, member);
    this.members = members;
  }

  /** The cohort as local Patient ids (the export's Group). */
  patientIds(): string[] {
    return [...this.members.keys()].sort();
  }

  /**
   * A page read twice over the same window when needed: as the study's grantee, then, for patients
   * that read refused, as the general research grantee (RA's cohort admits both kinds of consent). The
   * gateway decides every resource either time; a patient served by neither stays refused.
   */
  async readConsented(source: PageReader, request: ExportPageRequest): Promise<ExportPage> {
    const first = await source.readPage(this.context, request);
    const served = new Set(first.resources.map((r) => r.patientId));
    const retry = (first.refused ?? []).filter((r) => !served.has(r.patientId));
    if (retry.length === 0) return first;
    const general = studyContext(this.input.requester, this.study, GENERAL_RESEARCH_ADDRESS);
    const second = await source.readPage(general, request);
    const retried = new Set(retry.map((r) => r.patientId));
    const extra = second.resources.filter((r) => retried.has(r.patientId));
    for (const r of extra) served.add(r.patientId);
    return {
      resources: [...first.resources, ...extra],
      ...(first.next === undefined ? {} : { next: first.next }),
      refused: retry.filter((r) => !served.has(r.patientId)),
      skipped: first.skipped ?? [],
    };
  }

  /**
   * Decides k-anonymity once, over every cohort patient's de-identified Patient (read through the
   * gateway); `signal` ends a wait for the round (the job is stopped or deleted).
   */
  decideK(source: PageReader, until: string, signal?: AbortSignal): Promise<void> {
    this.kDecision ??= this.runKDecision(source, until, signal);
    return this.kDecision;
  }

  /**
   * Decides k if the export did not: where this member holds none of the cohort, the export reads no
   * page, so {@link decideK} is never asked. In a round, this member's (empty) entries must still reach
   * the coordinator, which decides only once every member holding data has sent; without them the
   * members holding the cohort wait inside their first page until their deadline (the demo's hospital
   * stayed at "starting", issue 18). Called before the manifest is sealed.
   */
  decideKWithoutRecords(until: string, signal?: AbortSignal): Promise<void> {
    if (this.kDecision === undefined && this.members.size > 0) {
      return Promise.reject(
        new CareLedgerError('ERR_INTERNAL', 'the release read none of the cohort it holds'),
      );
    }
    return this.decideK(NO_PAGES, until, signal);
  }

  private async runKDecision(source: PageReader, until: string, signal?: AbortSignal): Promise<void> {
    const byMember = new Map<Address, QuasiIdentifiedRecord>();
    for (const member of this.input.cohort) {
      byMember.set(member.patient, {
        key: member.patient,
        birthYear: undefined,
        sex: undefined,
        zip3: undefined,
      });
    }
    const ids = this.patientIds();
    for (let i = 0; i < ids.length; i += PATIENTS_PER_PAGE) {
      let after: string | undefined;
      do {
        const page = await this.readConsented(source, {
          resourceType: 'Patient',
          filters: [],
          until,
          patients: ids.slice(i, i + PATIENTS_PER_PAGE),
          ...(after === undefined ? {} : { after }),
          limit: RESOURCES_PER_PAGE,
        });
        for (const { resource, patientId } of page.resources) {
          const member = this.members.get(patientId);
          // The first readable Patient of a person decides their quasi-identifiers.
          if (member === undefined || byMember.get(member.patient)?.sex !== undefined) continue;
          const released = this.deidentify(resource, member) as Record<string, unknown>;
          const record = createQuasiIdentifiedRecord(released);
          byMember.set(member.patient, {
            ...record,
            key: member.patient,
            extra: Object.fromEntries(
              this.input.profile.quasiIdentifiers.map((name) => [
                name,
                released[name] === undefined ? undefined : canonicalJson(released[name]),
              ]),
            ),
          });
        }
        after = page.next;
      } while (after !== undefined);
    }
    const quasi = this.input.profile.quasiIdentifiers;
    if (this.input.round !== undefined) {
      await this.decideAcrossMembers([...byMember.values()], quasi, signal);
      return;
    }
    const result = checkKAnonymity([...byMember.values()], this.study.k, quasi);
    this.suppressedPatients = new Set(result.suppressed as Address[]);
    const { equivalenceClasses, suppressedClasses, smallestReleasedClass, suppressed } = result.counts;
    this.kCounts = {
      suppressedPatients: suppressed,
      equivalenceClasses,
      suppressedClasses,
      smallestReleasedClass,
    };
  }

  /** k over the classes of the whole round: each patient's set of class keys at every member (k-round.ts). */
  private async decideAcrossMembers(
    records: readonly QuasiIdentifiedRecord[],
    quasi: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const round = this.input.round as NonNullable<ReleasePlanInput['round']>;
    const patientOf = new Map<string, Address>();
    const entries = records.map((record) => {
      const link = createKLink(this.input.studyKey, record.key);
      patientOf.set(link, record.key as Address);
      return { link, classKey: equivalenceSignature(record, quasi) };
    });
    const result = await round.decide(entries, signal);
    this.roundResult = result;
    this.suppressedPatients = new Set(
      result.decision.suppress.flatMap((link) => {
        const patient = patientOf.get(link);
        return patient === undefined ? [] : [patient];
      }),
    );
    const { classes, suppressedClasses, smallestReleasedClass } = result.decision.counts;
    this.kCounts = {
      suppressedPatients: this.suppressedPatients.size,
      equivalenceClasses: classes,
      suppressedClasses,
      smallestReleasedClass,
    };
  }

  /** Part of a round across members that is not decided yet. */
  isWaitingForRound(): boolean {
    return this.input.round !== undefined && this.roundResult === undefined;
  }

  /** The round this release was decided in, for the manifest; undefined when k was this member's alone. */
  round(): ReleaseRound | undefined {
    const result = this.roundResult;
    if (result === undefined || this.input.round === undefined) return undefined;
    return {
      id: this.input.round.id,
      coordinator: result.coordinator,
      members: [...result.members],
      patients: result.decision.counts.patients,
      suppressedPatients: result.decision.counts.suppressedPatients,
    };
  }

  /** A page as the release gives it: consented, in scope, not suppressed, de-identified. */
  transformPage(page: ExportPage): ExportPage {
    const resources: ExportedResource[] = [];
    for (const item of page.resources) {
      const member = this.members.get(item.patientId);
      if (member === undefined || !this.isInScope(item.resource)) continue;
      if (this.suppressedPatients.has(member.patient)) {
        this.suppressedRecords += 1;
        continue;
      }
      resources.push({
        resource: this.deidentify(item.resource, member) as unknown as Resource,
        patientId: item.patientId,
        breakGlass: false,
      });
      this.contributing.add(member.patient);
      this.records += 1;
    }
    return {
      resources,
      ...(page.next === undefined ? {} : { next: page.next }),
      refused: page.refused ?? [],
      // The error file names what could not be served by its pseudonym, never the local id.
      skipped: (page.skipped ?? []).map((s) => ({
        ...s,
        id: createResourcePseudonym(this.input.studyKey, s.id),
      })),
    };
  }

  /** Only the study's resource types, and only records of the categories it asked for. */
  private isInScope(resource: Resource): boolean {
    if (!this.study.resourceTypes.includes(resource.resourceType)) return false;
    return categorizeResource(resource).every((c) => this.study.categories.includes(c));
  }

  private deidentify(resource: Resource, member: CohortMember): FhirResource {
    return deidentifyResource(resource as unknown as FhirResource, this.input.profile, {
      studyKey: this.input.studyKey,
      // Keyed on the ledger address, so one patient shifts alike at every member of the study.
      patientShiftDays: derivePatientShiftDays(this.input.studyKey, member.patient),
      asOf: this.input.asOf,
    });
  }

  /** Credit addresses of the patients whose data is in the files (ReleaseAnchor.contributors). */
  contributors(): Address[] {
    const credit = new Map(this.input.cohort.map((m) => [m.patient, m.creditAddress]));
    return [...this.contributing].map((p) => credit.get(p) as Address).sort();
  }

  counts(): ReleaseCounts {
    const k = this.kCounts ?? {
      suppressedPatients: 0,
      equivalenceClasses: 0,
      suppressedClasses: 0,
      smallestReleasedClass: null,
    };
    return {
      cohort: this.input.cohort.length,
      contributors: this.contributing.size,
      records: this.records,
      suppressedRecords: this.suppressedRecords,
      ...k,
    };
  }
}
