import { join } from 'node:path';
import type { Hono } from 'hono';
import { bytesToHex, hexToBytes } from 'viem';
import { MemberClient } from '../../exchange/index.js';
import type { BulkExportModule } from '../../export/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import type { Outbox } from '../../ledger/index.js';
import { createResearchModule } from '../../research/ledger/index.js';
import {
  createReleaseRoundRoutes,
  createResearchReleaseModule,
  DATA_HOLDING_ROLES,
  DatabaseReleaseRecordStore,
  type DataMember,
  NO_RESEARCH_REGISTRY,
  ReleaseRounds,
  type ResearchReleaseModule,
} from '../../research/release/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { LogServices } from '../log-services.js';
import type { DelegationInForce } from './consent.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

export interface ResearchDeps {
  readonly outbox: Outbox;
  readonly openings: Parameters<typeof createResearchModule>[0]['openings'];
  readonly repository: FhirRepository;
  readonly authenticate: Authenticate;
  readonly issuer: string;
  readonly delegationInForce: DelegationInForce;
  readonly logServices: LogServices;
}

/**
 * Research studies (issue 18, decision 0024): ResearchRegistry, its event index, the cohort, /research;
 * and the study releases, whose jobs run in the bulk export's job system (`mountResearchRelease`).
 */
export function mountResearch(app: Hono, base: NodeBase, options: StartNodeOptions, deps: ResearchDeps) {
  const { dir, deployment, client, stores, adminToken, config, account, say } = base;
  const research = createResearchModule({
    deployment,
    outbox: deps.outbox,
    client,
    chainIndex: stores.chainIndex,
    openings: deps.openings,
    repository: deps.repository,
    authenticate: deps.authenticate,
    adminToken,
    organization: config.organization,
    delegationInForce: deps.delegationInForce,
    audit: (entry) => deps.logServices.log.append(entry),
    protocolStorage: stores.researchProtocols,
    log: say,
  });
  if (research !== undefined) {
    app.route('/research', research.routes);
    app.route('/admin/research', research.adminRoutes);
  }
  // Active members that hold patients' records: every k round and release round asks each (decision 0041).
  const dataMembers = async () =>
    (await stores.chainIndex.members())
      .filter((m) => m.status === 'active' && DATA_HOLDING_ROLES.includes(m.role) && m.fhirBaseUrl !== '')
      .map((m) => ({ address: m.address, name: m.name, base: m.fhirBaseUrl.replace(/\/fhir\/?$/, '') }));
  const memberToken = (member: DataMember) =>
    new MemberClient({ member: { ...member, name: '', fhirBaseUrl: `${member.base}/fhir` } }).memberToken(
      {
        address: account.address,
        sign: async (hash) => hexToBytes(await account.sign({ hash: bytesToHex(hash) })),
      },
      { purpose: 'HRESCH' },
    );
  // Study releases (issue 18): their jobs run in the bulk export's job system, through its source.
  const researchRelease = createResearchReleaseModule({
    ports: options.researchPorts ?? research?.ports ?? NO_RESEARCH_REGISTRY,
    dir,
    jobs: stores.exportJobs,
    member: account.address,
    baseUrl: deps.issuer,
    authenticate: deps.authenticate,
    // In the member's database, so every host of the member serves them (decision 0035).
    records: new DatabaseReleaseRecordStore(stores.researchReleases, join(dir, 'research-releases')),
    // k across every active member holding data, coordinated by the lowest address (decision 0041).
    // Its rounds in the member's database, so a restart mid-round completes it (decision 0050).
    kRound: { dataMembers, token: memberToken, storage: stores.researchKRounds },
    log: say,
  });
  // A release round started at the research member, across every data member (decision 0041).
  if (research !== undefined) {
    const researchRounds = createReleaseRoundRoutes({
      rounds: new ReleaseRounds({
        self: account.address,
        study: research.ports.study,
        dataMembers,
        token: memberToken,
      }),
      adminToken,
      // The anchor as the contract holds it, with the block its event was mined in (from the index).
      release: async (studyId, manifestHash) => {
        const anchored = await research.ports.release(studyId, manifestHash);
        if (anchored === undefined) return undefined;
        await research.index.sync();
        const indexed = research.index
          .study(studyId)
          ?.releases.find((r) => r.manifestHash.toLowerCase() === manifestHash.toLowerCase());
        return indexed === undefined ? anchored : { ...anchored, block: BigInt(indexed.blockNumber) };
      },
    });
    app.route('/admin/research', researchRounds);
  }
  return { research, researchRelease };
}

/** The releases' jobs run in the bulk export's job system; their routes after the studies'. */
export function mountResearchRelease(
  app: Hono,
  researchRelease: ResearchReleaseModule,
  bulkExport: BulkExportModule,
) {
  researchRelease.attach(bulkExport.service);
  app.route('/research', researchRelease.routes);
}
