import type { Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import type { Address, Hex, PublicClient } from 'viem';
import { patientLedgerAddress } from '../../access/patient-ledger-address.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import type { ConsentOpeningStore } from '../../consent/consent-opening.js';
import type { DelegationInForce } from '../../consent/grant-signer.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import type { Deployment } from '../../ledger/deployment.js';
import type { ChainIndexStorage } from '../../sync/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { ReleaseAnchor, Study } from '../study.js';
import { type ConsentingPatient, createCohort } from './cohort.js';
import { ResearchIndex } from './research-index.js';
import { type AnchoredRelease, ResearchLedger, type ResearchTransactionSender } from './research-ledger.js';
import {
  createResearchAdminRoutes,
  createResearchRoutes,
  type ResearchRouteDeps,
} from './research-routes.js';
import { createStudyProtocols, type StudyProtocolStorage } from './study-protocol.js';

export { type CohortDeps, type ConsentingPatient, consentingPatients, createCohort } from './cohort.js';
export { studyCreditAddress } from './credit-address.js';
export {
  AGE_BANDS,
  ageBandOf,
  evaluateFeasibility,
  type FeasibilityAnswer,
  type FeasibilityQuery,
  parseFeasibilityQuery,
} from './feasibility.js';
export { type IndexedRelease, type IndexedStudy, ResearchIndex } from './research-index.js';
export {
  type AnchoredRelease,
  CONTRIBUTORS_PER_TRANSACTION,
  parseBytes32,
  ResearchLedger,
  STUDY_STATUSES,
  type StudyProposal,
} from './research-ledger.js';
export {
  createResearchAdminRoutes,
  createResearchRoutes,
  describeStudy,
  MIN_FEASIBILITY_K,
  type ResearchRouteDeps,
} from './research-routes.js';
export {
  hashStudyProtocol,
  parseStudyProtocol,
  type StudyProtocol,
  type StudyProtocolStorage,
} from './study-protocol.js';

export interface ResearchModuleDeps {
  readonly deployment: Deployment;
  readonly outbox: ResearchTransactionSender & { readonly address: Address };
  readonly client: PublicClient;
  readonly chainIndex: ChainIndexStorage;
  readonly openings: Pick<ConsentOpeningStore, 'load' | 'grantIdsOf'>;
  readonly repository: Pick<FhirRepository, 'search' | 'read' | 'patientIdByLedgerAddress'>;
  readonly authenticate: Authenticate;
  readonly adminToken: string;
  readonly organization: string;
  readonly delegationInForce?: DelegationInForce;
  readonly audit: (entry: Uint8Array) => Promise<{ index: number }>;
  /** Where study protocol documents are kept (the member's database); none: studies show no title. */
  readonly protocolStorage?: StudyProtocolStorage;
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
}

/** What the release pipeline needs (src/research/release/release-ports.ts ReleasePorts, structurally). */
export interface ResearchPorts {
  study(id: Hex): Promise<Study | undefined>;
  cohort(study: Study, atBlock: bigint): Promise<readonly ConsentingPatient[]>;
  consentBlock(): Promise<bigint>;
  anchorRelease(anchor: ReleaseAnchor): Promise<void>;
  release(
    studyId: Hex,
    manifestHash: Hex,
  ): Promise<(AnchoredRelease & { studyId: Hex; manifestHash: Hex; credited: number }) | undefined>;
}

export interface ResearchModule {
  readonly ledger: ResearchLedger;
  readonly index: ResearchIndex;
  readonly ports: ResearchPorts;
  /** Mount under /research. */
  readonly routes: Hono;
  /** Mount under /admin/research (node operator token). */
  readonly adminRoutes: Hono;
  start(): void;
  stop(): Promise<void>;
}

/** Pages through every match of a search (the vault caps a page). */
async function searchAll(
  repository: ResearchModuleDeps['repository'],
  resourceType: string,
  query: URLSearchParams,
  context: AccessContext,
): Promise<Resource[]> {
  const found: Resource[] = [];
  for (let offset = 0; ; ) {
    const page = new URLSearchParams(query);
    page.set('_count', '500');
    page.set('_offset', String(offset));
    const result = await repository.search(resourceType, page, context, { handling: 'strict' });
    found.push(...result.resources);
    if (result.more !== true || result.resources.length === 0) return found;
    offset += result.resources.length;
  }
}

/**
 * Research at a member (issue 18, decision 0024): the ResearchRegistry handle, its event index, the
 * cohort of consenting patients, `/research` routes. Undefined when the deployment predates
 * ResearchRegistry.
 */
export function createResearchModule(deps: ResearchModuleDeps): ResearchModule | undefined {
  if (deps.deployment.contracts.researchRegistry === undefined) return undefined;
  const ledger = new ResearchLedger(deps.deployment, deps.outbox, deps.client);
  const index = new ResearchIndex({
    client: deps.client,
    deployment: deps.deployment,
    ...(deps.log === undefined ? {} : { onLog: deps.log }),
  });
  const cohort = createCohort({
    index: deps.chainIndex,
    openings: deps.openings,
    localPatientIds: async (address) => {
      const id = await deps.repository.patientIdByLedgerAddress(address);
      return id === undefined ? [] : [id];
    },
    blockTimestamp: async (block) => Number((await deps.client.getBlock({ blockNumber: block })).timestamp),
    ...(deps.delegationInForce === undefined ? {} : { delegationInForce: deps.delegationInForce }),
  });
  const researchContext = (grantee: Address): AccessContext => ({
    who: `Organization/${grantee}`,
    member: grantee,
    organization: deps.organization,
    purpose: 'HRESCH',
  });
  const routeDeps: ResearchRouteDeps = {
    ledger,
    index,
    self: deps.outbox.address,
    adminToken: deps.adminToken,
    authenticate: deps.authenticate,
    memberRole: async (address) => {
      const member = await deps.chainIndex.member(address);
      return member?.status === 'active' ? member.role : undefined;
    },
    search: (grantee, resourceType, query) =>
      searchAll(deps.repository, resourceType, query, researchContext(grantee)),
    patientAddress: async (context) => {
      const id = context.who.slice('Patient/'.length);
      return patientLedgerAddress(await deps.repository.read('Patient', id, context));
    },
    openings: deps.openings,
    audit: deps.audit,
    ...(deps.protocolStorage === undefined
      ? {}
      : {
          protocols: createStudyProtocols({
            storage: deps.protocolStorage,
            memberBase: async (address) => {
              const member = await deps.chainIndex.member(address);
              return member?.status === 'active' && member.fhirBaseUrl !== ''
                ? member.fhirBaseUrl.replace(/\/fhir\/?$/, '')
                : undefined;
            },
            ...(deps.log === undefined ? {} : { log: deps.log }),
          }),
        }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  };
  const ports: ResearchPorts = {
    study: async (id) => {
      await index.sync();
      return index.study(id);
    },
    cohort: (study, atBlock) => cohort.consentingPatients(study, atBlock),
    consentBlock: async () => BigInt((await deps.chainIndex.cursor())?.number ?? 0),
    anchorRelease: async (anchor) => {
      await ledger.anchorRelease(anchor);
      await index.sync();
    },
    release: async (studyId, manifestHash) => {
      const release = await ledger.release(studyId, manifestHash);
      return release === undefined
        ? undefined
        : { ...release, studyId, manifestHash, credited: release.contributors };
    },
  };
  return {
    ledger,
    index,
    ports,
    routes: createResearchRoutes(routeDeps),
    adminRoutes: createResearchAdminRoutes(routeDeps),
    start: () => {
      void index.sync();
      index.start(1_000);
    },
    stop: () => index.stop(),
  };
}
