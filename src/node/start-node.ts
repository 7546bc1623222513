import type { BulkExportModule } from '../export/index.js';
import { loadSearchParameters } from '../fhir/search/index.js';
import type { createNodeApp } from '../http/create-node-app.js';
import {
  ConsentRelayLimits,
  type ConsortiumLedger,
  consentRelayLimitPolicy,
  type Deployment,
} from '../ledger/index.js';
import type { TransparencyLog } from '../log/index.js';
import type { ResearchModule } from '../research/ledger/index.js';
import type { ResearchReleaseModule } from '../research/release/index.js';
import type { SupplyModule } from '../supply/index.js';
import type { ChainIndexer } from '../sync/index.js';
import { mountAdmin } from './compose/admin.js';
import { createAuth, mountAccountRoutes, mountOAuthRoutes } from './compose/auth.js';
import { createBreakGlassHooks, mountBreakGlassRoutes } from './compose/break-glass.js';
import { mountClaims } from './compose/claims.js';
import { createConsentState } from './compose/consent.js';
import { createCredentials, mountCredentialRoutes, startCredentialCheck } from './compose/credentials.js';
import { mountBulkExport } from './compose/export.js';
import { mountFhirBundleRoutes, mountFhirOperations, mountFhirRoutes } from './compose/fhir.js';
import { createHttpApp, listen, mountDocsAndPortal, mountFhirConventions } from './compose/http-app.js';
import { createLedger, mountLedgerRoutes, startChainIndexer } from './compose/ledger.js';
import { mountLogRoutes, startNodeLogServices } from './compose/log.js';
import { openNodeBase } from './compose/node-base.js';
import { mountPatientRights } from './compose/patient-rights.js';
import { createPractitionerNameReader } from './compose/practitioner-name.js';
import { createRecords, startLocatorAnnouncements } from './compose/records.js';
import { mountResearch, mountResearchRelease } from './compose/research.js';
import { mountShare } from './compose/share.js';
import type { StartNodeOptions } from './compose/start-node-options.js';
import { mountSupply } from './compose/supply.js';
import { verifyVaultSecretAtStart } from './member-secrets.js';
import type { NodeConfig } from './node-config.js';
import { openVault } from './open-vault.js';

export type { StartNodeOptions } from './compose/start-node-options.js';

export interface RunningNode {
  readonly config: NodeConfig;
  readonly url: string;
  /** The listening server (tests watch its connections); none in the primary of a multi-process member. */
  readonly httpServer?: { on(event: 'connection', listener: () => void): unknown };
  readonly deployment: Deployment;
  readonly ledger: ConsortiumLedger;
  readonly indexer: ChainIndexer;
  readonly app: ReturnType<typeof createNodeApp>;
  /** Bulk Data `$export` jobs (tests wait on `bulkExport.service.idle()`). */
  readonly bulkExport: BulkExportModule;
  /** Study releases (issue 18 items 3, 4); tests wait on `researchRelease.service.settled(job)`. */
  readonly researchRelease: ResearchReleaseModule;
  /** Research studies (issue 18, decision 0024); undefined when the deployment has no ResearchRegistry. */
  readonly research?: ResearchModule;
  /** The supply chain (issue 19); undefined when the deployment has no SupplyChain contract. */
  readonly supply?: SupplyModule;
  /** Issue 21: the licence-credential chain index when node.json requires credentials (tests sync it). */
  readonly credentialIndex?: import('../credentials/credential-ledger.js').CredentialChainIndex;
  /** The log this process sequences, for its workers (decision 0014); undefined in a worker. */
  readonly sequencer?: {
    readonly log: TransparencyLog;
    currentVersion(resourceType: string, id: string): Promise<number>;
  };
  close(): Promise<void>;
}

/**
 * The composition root of one member node: storage, keys, ledger, chain sync and HTTP. Each duty is
 * wired in its own module under ./compose/ (decision 0037); this is the order they are wired in, which
 * is also the order their HTTP routes are matched in.
 */
export async function startNode(dir: string, options: StartNodeOptions = {}): Promise<RunningNode> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { base, crypto } = await openBaseAndVault(dir, options, log);
  const { config, db, stores, say } = base;

  // Ledger, chain index, consent decisions, the log, the vault.
  const { outbox, ledger, delegationInForce, isDelegate } = createLedger(base);
  const practitionerCheck = await startCredentialCheck(base);
  const consent = createConsentState(base, delegationInForce);
  const { consentDecisions } = consent;
  const indexer = await startChainIndexer(base, options, consent);
  const logServices = await startNodeLogServices(base, options, ledger);
  const { openings, openingQueue, deliverOpening } = consent.openOpenings(crypto);
  // Issue 19: set once authentication exists; the vault asks it before writing a MedicationDispense.
  let supply: SupplyModule | undefined;
  const records = createRecords(base, options, {
    ledger,
    logServices,
    crypto,
    consentDecisions,
    practitionerCheck,
    checkDispense: async (resource, context, writeOptions) =>
      supply?.checkDispense(resource, context, writeOptions),
  });
  const { repository } = records;
  const auth = await createAuth(base, options, { crypto, repository });
  const { authenticate, issuer } = auth;
  const breakGlass = createBreakGlassHooks(base, auth, createPractitionerNameReader(base, repository));

  // HTTP, in the order routes are matched.
  const app = createHttpApp(base, { indexer, outbox, openingQueue, logServices });
  mountLedgerRoutes(app, {
    ledger,
    index: stores.chainIndex,
    indexer,
    now: () => Date.now(),
    isDelegate,
    delegationInForce,
    audit: (entry) => logServices.log.append(entry),
    openings,
    deliverOpening,
    authenticate,
    relayLimits: new ConsentRelayLimits({
      store: stores.auth,
      now: options.authClock ?? Date.now,
      policy: consentRelayLimitPolicy(config.consentRelayLimits),
    }),
  });
  mountFhirConventions(app, base);
  mountFhirOperations(app, base, { repository, auth });
  const { research, researchRelease } = mountResearch(app, base, options, {
    outbox,
    openings,
    repository,
    authenticate,
    issuer,
    delegationInForce,
    logServices,
  });
  const bulkExport = mountBulkExport(app, base, {
    repository,
    crypto,
    authenticate,
    issuer,
    source: (vault) => researchRelease.exportSource(vault),
  });
  mountResearchRelease(app, researchRelease, bulkExport);
  mountClaims(app, base, { outbox, repository, consentDecisions, authenticate });
  mountOAuthRoutes(app, base, auth);
  mountFhirBundleRoutes(app, { repository, authenticate });
  const nodeCredentials = createCredentials(base, practitionerCheck, outbox);
  mountFhirRoutes(app, base, {
    repository,
    auth,
    breakGlass,
    nodeCredentials,
    ledger,
    indexer,
    isDelegate,
    openings,
    deliverOpening,
  });
  mountAccountRoutes(app, base, auth);
  mountBreakGlassRoutes(app, repository, auth);
  mountShare(app, base, options, { repository, authenticate });
  mountPatientRights(app, base, { repository, authenticate });
  supply = mountSupply(app, base, { outbox, repository, authenticate, logServices });
  mountLogRoutes(app, logServices);
  mountCredentialRoutes(app, nodeCredentials);
  mountAdmin(app, base, { ledger, users: auth.users, repository, nodeCredentials });
  mountDocsAndPortal(app, base);

  // Load the R4 definitions and search parameters before listening: lazily, the first FHIR request
  // after a (re)start blocked the event loop for about a second, long enough to fail health probes.
  const definitionsStarted = performance.now();
  loadSearchParameters();
  say(`FHIR R4 definitions loaded in ${Math.round(performance.now() - definitionsStarted)} ms`);

  // Timers: only the primary (or a single process) sends, syncs, delivers and recovers jobs.
  if (options.worker === undefined) {
    outbox.start(250);
    indexer.start(250);
    openingQueue.start(5_000);
    await bulkExport.start();
    supply?.start();
    void outbox.pump().catch(() => undefined);
  } else {
    // A worker runs the export jobs kicked off through it; recovery after a crash is the primary's.
    await bulkExport.start({ recover: false });
  }
  // Every process answers GET /research from its own index of ResearchRegistry's events.
  research?.start();
  const announcements = startLocatorAnnouncements(base, records);
  const { server, url } = await listen(app, base, options);

  return {
    config,
    url,
    ...(server === undefined ? {} : { httpServer: server }),
    deployment: base.deployment,
    ledger,
    indexer,
    app,
    bulkExport,
    researchRelease,
    ...(research === undefined ? {} : { research }),
    ...(supply === undefined ? {} : { supply }),
    ...(logServices.sequencer === undefined
      ? {}
      : {
          sequencer: {
            log: logServices.sequencer,
            currentVersion: async (resourceType: string, id: string) =>
              (await stores.records.current(resourceType, id))?.versionId ?? 0,
          },
        }),
    ...(practitionerCheck === undefined ? {} : { credentialIndex: practitionerCheck.index }),
    async close() {
      if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
      await bulkExport.stop();
      await researchRelease.stop();
      await supply?.stop();
      await research?.stop();
      announcements.stopRetries();
      practitionerCheck?.stop();
      await announcements.idle();
      await logServices.stop();
      // A planned stop waits (bounded) for what it signed to be mined, so the chain's final snapshot,
      // taken after the nodes stop, holds it; anything left is re-sent on the next start.
      const unmined = await outbox.drain(5_000);
      if (unmined > 0) say(`${unmined} transaction(s) not yet mined; re-sent on the next start`);
      await outbox.stop();
      await indexer.stop();
      await openingQueue.stop();
      base.sharedBroadcast?.close();
      await base.notifications?.close();
      db.close();
      await stores.close();
    },
  };
}

/**
 * The node's base and its vault, whose root secret must be the member's (decision 0033) before
 * anything runs: on a refusal the base is closed and ERR_CONFIG thrown.
 */
async function openBaseAndVault(dir: string, options: StartNodeOptions, log: (line: string) => void) {
  const base = await openNodeBase(dir, options, log);
  const crypto = await openVault(dir, base.db, {
    dataKeys: (provider) => base.stores.dataKeys(provider),
    ...(base.config.vaultKeys === undefined ? {} : { keys: base.config.vaultKeys }),
    log: base.say,
  });
  await verifyVaultSecretAtStart(base, options, crypto);
  return { base, crypto };
}

/**
 * Decision 0033 for a member run as several whole processes on one folder (PostgreSQL, decision
 * 0022): the cluster's primary checks this host's secrets once, as each process would, before it
 * forks any. Processes starting together would otherwise race on a secret the folder lacks: one
 * creates it, another refuses and removes it, a third, killed mid-start, leaves its own behind for
 * the next start to take as the member's. Throws ERR_CONFIG as `startNode` would; closes what it opened.
 */
export async function verifyHostSecrets(
  dir: string,
  options: StartNodeOptions,
  log: (line: string) => void,
): Promise<void> {
  const { base } = await openBaseAndVault(dir, options, log);
  base.sharedBroadcast?.close();
  await base.notifications?.close();
  base.db.close();
  await base.stores.close();
}
