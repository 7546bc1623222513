/**
 * The study release pipeline (issue 18 items 3 and 4, decision 0024): a de-identified FHIR Bulk Data
 * `$export` per study at each member, run by the node's one bulk export job system, with a manifest
 * of file hashes anchored in the ResearchRegistry and `careledger research verify` for a download.
 *
 * Wiring (start-node): create the module, give the bulk export module `exportSource(vault source)`,
 * `attach` the bulk service, mount `routes` under /research.
 */
import { join } from 'node:path';
import type { Context, Hono } from 'hono';
import type { Address } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import type { BulkExportService, ExportJobStorage, ExportSource } from '../../export/index.js';
import { SAFE_HARBOR_PROFILE_JSON } from '../safe-harbor-profile.js';
import { createKRoundPort, type DataMember } from './k-round-client.js';
import { KRoundCoordinator } from './k-round-coordinator.js';
import { createKRoundRoutes } from './k-round-routes.js';
import type { KRoundStorage } from './k-round-store.js';
import type { ReleasePorts } from './release-ports.js';
import { FileReleaseRecordStore, type ReleaseRecordStore } from './release-record-store.js';
import { createReleaseRoutes } from './release-routes.js';
import { ReleaseService } from './release-service.js';
import { createResearchExportSource } from './research-export-source.js';
import { loadOrCreateResearchSecret } from './study-key.js';

export { decideKRound, type KRoundCounts, type KRoundDecision, type KRoundEntry } from './k-round.js';
export {
  createKRoundPort,
  DATA_HOLDING_ROLES,
  type DataMember,
  type KRoundPort,
  type KRoundResult,
} from './k-round-client.js';
export { coordinatorOf, KRoundCoordinator } from './k-round-coordinator.js';
export {
  type KRoundStorage,
  MemoryKRoundStorage,
  type StoredKRound,
  type StoredKRoundEntries,
} from './k-round-store.js';
export {
  canonicalJson,
  fileNameOf,
  hashDeidProfile,
  hashReleaseManifest,
  parseReleaseManifest,
  RELEASE_MANIFEST_VERSION,
  type ReleaseCounts,
  type ReleaseFileEntry,
  type ReleaseManifest,
  type ReleaseRound,
} from './release-manifest.js';
export {
  type AnchoredRelease,
  type CohortMember,
  NO_RESEARCH_REGISTRY,
  type ReleasePorts,
} from './release-ports.js';
export {
  DatabaseReleaseRecordStore,
  type ReleaseRecord,
  type ReleaseRecordStorage,
  type ReleaseRecordStore,
  type StoredReleaseRecord,
} from './release-record-store.js';
export { createReleaseRoundRoutes } from './release-round-routes.js';
export { type ReleaseRound as ReleaseRoundView, ReleaseRounds, type RoundMember } from './release-rounds.js';
export { ReleaseService, type ReleaseStatus } from './release-service.js';
export { isResearchContext, type ResearchAccessContext, releaseEntity } from './research-export-source.js';
export { deriveStudyKey, loadOrCreateResearchSecret } from './study-key.js';

/** The hash a study names for the default profile (HIPAA Safe Harbor). */
export { SAFE_HARBOR_PROFILE_JSON };

export interface ResearchReleaseModuleDeps {
  readonly ports: ReleasePorts;
  /** The node's data folder: release records and the research secret live under it. */
  readonly dir: string;
  /** The bulk export's job storage (the same instance the bulk module uses). */
  readonly jobs: Pick<ExportJobStorage, 'get'>;
  /** This member's ledger address. */
  readonly member: Address;
  readonly baseUrl: string;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  /** Default: `<dir>/research-pseudonym.secret`, created if absent (study-key.ts). */
  readonly secret?: Uint8Array;
  /** Profiles this member applies, as JSON; default: the Safe Harbor profile only. */
  readonly profiles?: readonly unknown[];
  readonly records?: ReleaseRecordStore;
  /**
   * k across the members holding data (decision 0041): the active data-holding members from the chain
   * index, and a member token for another member's node. Without it, k is this member's alone.
   */
  readonly kRound?: {
    readonly dataMembers: () => Promise<readonly DataMember[]>;
    readonly token: (member: DataMember) => Promise<string>;
    readonly fetch?: typeof fetch;
    /** Where this member keeps the rounds it coordinates (decision 0050); default: process memory. */
    readonly storage?: KRoundStorage;
  };
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  readonly retryAfterSeconds?: number;
}

export interface ResearchReleaseModule {
  readonly service: ReleaseService;
  /** Mount under /research. */
  readonly routes: Hono;
  /** The bulk export's source: release jobs pass the release plan, every other job reads `vault` unchanged. */
  exportSource(vault: ExportSource): ExportSource;
  /** Gives the module the bulk export service that runs its jobs. */
  attach(bulk: BulkExportService): void;
  /** After the bulk service stops: seals still waiting for a k round stop waiting. */
  stop(): Promise<void>;
}

export function createResearchReleaseModule(deps: ResearchReleaseModuleDeps): ResearchReleaseModule {
  const baseUrl = deps.baseUrl.replace(/\/$/, '');
  const coordinator =
    deps.kRound === undefined
      ? undefined
      : new KRoundCoordinator({
          dataMembers: async () => (await deps.kRound?.dataMembers())?.map((m) => m.address) ?? [],
          studyK: async (id) => (await deps.ports.study(id))?.k,
          ...(deps.kRound.storage === undefined ? {} : { storage: deps.kRound.storage }),
        });
  const kRound =
    deps.kRound === undefined || coordinator === undefined
      ? undefined
      : createKRoundPort({
          self: deps.member,
          coordinator,
          dataMembers: deps.kRound.dataMembers,
          token: deps.kRound.token,
          ...(deps.kRound.fetch === undefined ? {} : { fetch: deps.kRound.fetch }),
        });
  const service = new ReleaseService({
    ports: deps.ports,
    records: deps.records ?? new FileReleaseRecordStore(join(deps.dir, 'research-releases')),
    jobs: deps.jobs,
    secret: deps.secret ?? loadOrCreateResearchSecret(join(deps.dir, 'research-pseudonym.secret')),
    profiles: deps.profiles ?? [SAFE_HARBOR_PROFILE_JSON],
    member: deps.member,
    baseUrl,
    ...(kRound === undefined ? {} : { kRound }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.log === undefined ? {} : { log: deps.log }),
  });
  const routes = createReleaseRoutes({
    releases: service,
    authenticate: deps.authenticate,
    baseUrl,
    ...(deps.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: deps.retryAfterSeconds }),
  });
  if (coordinator !== undefined && deps.kRound !== undefined) {
    routes.route(
      '/',
      createKRoundRoutes({
        coordinator,
        self: deps.member,
        dataMembers: deps.kRound.dataMembers,
        authenticate: deps.authenticate,
      }),
    );
  }
  return {
    service,
    routes,
    exportSource: (vault) => {
      service.useSource(vault);
      return createResearchExportSource({ vault, planFor: (id) => service.planFor(id) });
    },
    attach: (bulk) => service.attach(bulk),
    stop: () => service.stop(),
  };
}
