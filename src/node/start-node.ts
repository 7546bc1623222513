import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { AllergyIntolerance, Resource } from '@medplum/fhirtypes';
import type { Context } from 'hono';
import { bytesToHex, hexToBytes } from 'viem';
import { ConsentDecisionCache } from '../access/consent-decision-cache.js';
import { AccessPolicy, type BreakGlassSession, listGrantingPatients } from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { AuthorizationServer, UserDirectory } from '../auth/index.js';
import { SignInThrottle } from '../auth/sign-in-throttle.js';
import { createChainClient } from '../chain/index.js';
import { createClaimsModule } from '../claims/index.js';
import { createDrugAllergyCheck } from '../clinician/drug-allergy-check.js';
import { createOpeningFanOut, evaluateConsent, FhirConsentService } from '../consent/index.js';
import { createOpeningDeliveryQueue } from '../consent/opening-delivery-queue.js';
import { createNodeCredentials } from '../credentials/node-credentials.js';
import { startPractitionerCheck } from '../credentials/practitioner-check.js';
import { createLedgerKeyEnrolmentRoutes, LedgerKeyEnrolment } from '../enrolment/index.js';
import { CareLedgerError } from '../errors/index.js';
import { ExchangeService } from '../exchange/index.js';
import {
  type BulkExportModule,
  createBulkExportModule,
  createVaultExportSource,
  createVaultJobKeySealer,
} from '../export/index.js';
import { loadFhirProfiles } from '../fhir/load-fhir-definitions.js';
import { loadSearchParameters } from '../fhir/search/index.js';
import { createAuthenticator } from '../http/authenticate-request.js';
import { createNodeApp } from '../http/create-node-app.js';
import { corsPolicy } from '../http/middleware/cors-policy/index.js';
import { fhirRestConventions } from '../http/middleware/fhir-rest-conventions/index.js';
import { trackConnectionArrival } from '../http/middleware/load-shedding/index.js';
import { createOpenApiRoute } from '../http/openapi.js';
import { isLoopbackHost, remoteAddress } from '../http/remote-address.js';
import { createAccessRequestRoutes } from '../http/routes/access-request-routes.js';
import { createAccountRoutes } from '../http/routes/account-routes.js';
import { createAdminRoutes } from '../http/routes/admin-routes.js';
import { createBreakGlassRoutes } from '../http/routes/break-glass-routes.js';
import { createExchangeFhirRoutes, createPatientViewRoutes } from '../http/routes/exchange-routes.js';
import { createFhirBundleRoutes } from '../http/routes/fhir-bundle-routes.js';
import { createFhirConditionalRoutes } from '../http/routes/fhir-conditional-routes.js';
import { createFhirRoutes, SUPPORTED_RESOURCE_TYPES } from '../http/routes/fhir-routes.js';
import { createLedgerRoutes } from '../http/routes/ledger-routes.js';
import { createOAuthRoutes } from '../http/routes/oauth-routes.js';
import { createValidateRoutes } from '../http/routes/validate-routes.js';
import { createValueSetExpandRoutes } from '../http/routes/value-set-expand-routes.js';
import {
  ConsortiumLedger,
  consentRegistryAbi,
  createConsentDomain,
  type Deployment,
  isPurposeOfUse,
  loadDeployment,
  Outbox,
} from '../ledger/index.js';
import type { TransparencyLog } from '../log/index.js';
import { httpsServerOptions } from '../network/https-server-options.js';
import { checkChainAtStart } from '../network/verify-deployment.js';
import { createPatientRightsRoutes, createRecipientNames } from '../patient-rights/index.js';
import { createPortalRoutes, registerPortalClient } from '../portal/index.js';
import { createResearchModule, type ResearchModule } from '../research/ledger/index.js';
import {
  createResearchReleaseModule,
  NO_RESEARCH_REGISTRY,
  type ReleasePorts,
  type ResearchReleaseModule,
} from '../research/release/index.js';
import { createShareRoutes, ShareService, SqliteShareStore, shareMigrations } from '../share/index.js';
import { DATABASE_URL_ENV, openNodeStorage } from '../storage/open-node-storage.js';
import { isPostgresUrl } from '../storage/postgres/postgres-database.js';
import { openDatabase, type SqliteDatabase } from '../storage/sqlite/open-database.js';
import { authMigrations } from '../storage/sqlite/sqlite-auth-store.js';
import { breakGlassMigrations } from '../storage/sqlite/sqlite-break-glass-store.js';
import { chainIndexMigrations } from '../storage/sqlite/sqlite-chain-index-storage.js';
import { claimLeaseMigrations } from '../storage/sqlite/sqlite-claim-lease-store.js';
import {
  consentOpeningMigrations,
  createVaultOpeningSealer,
} from '../storage/sqlite/sqlite-consent-opening-store.js';
import { exportJobMigrations } from '../storage/sqlite/sqlite-export-job-storage.js';
import { keyStoreMigrations } from '../storage/sqlite/sqlite-key-store.js';
import { ledgerKeyChallengeMigrations } from '../storage/sqlite/sqlite-ledger-key-challenge-store.js';
import { logMigrations } from '../storage/sqlite/sqlite-log-storage.js';
import { openingDeliveryMigrations } from '../storage/sqlite/sqlite-opening-delivery-store.js';
import { outboxMigrations } from '../storage/sqlite/sqlite-outbox-storage.js';
import { recordMigrations } from '../storage/sqlite/sqlite-record-storage.js';
import {
  createSupplyModule,
  loadOrCreateSupplyKey,
  type SupplyModule,
  supplyMigrations,
} from '../supply/index.js';
import { ChainIndexer } from '../sync/index.js';
import { reportIndexedEvents } from '../sync/report-indexed-events.js';
import { FhirRepository } from '../vault/fhir-repository.js';
import { type LogServices, type LogServicesOptions, startLogServices } from './log-services.js';
import {
  allowedOrigins,
  DEFAULT_BREAK_GLASS_MAX_MINUTES,
  loadNodeConfig,
  type NodeConfig,
  nodePaths,
  saveNodeConfig,
} from './node-config.js';
import {
  loadOrCreateAdminToken,
  loadOrCreateLedgerKey,
  loadOrCreateLogSignerKey,
  loadOrCreateTokenSigningKey,
  restrictFileModes,
} from './node-keys.js';
import { openVault } from './open-vault.js';
import {
  announceRelayed,
  announcingHooks,
  RecordLocatorAnnouncer,
  relayingHooks,
} from './record-locator-announcer.js';
import { invalidateOnMemberEvents } from './workers/consent-cache-invalidation.js';
import { startDatabaseSequencedLogServices } from './workers/database-sequenced-log-services.js';
import type { LogAppender } from './workers/follower-log.js';
import { openMemberNotifications } from './workers/member-notifications.js';
import type { NodeBroadcast } from './workers/node-broadcast.js';
import { startPostgresNodeBroadcast } from './workers/postgres-node-broadcast.js';

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

export interface StartNodeOptions {
  readonly log?: (line: string) => void;
  /** Listen on this port instead of the configured one (0 = any free port). */
  readonly port?: number;
  /**
   * Listen on this address instead of node.json's `host` (`node start --host`): each machine running
   * processes of one member binds its own address (decision 0026); `publicUrl` stays the member's.
   */
  readonly host?: string;
  /** The authorization server's clock (ms since the epoch): tests move it to get fresh TOTP steps. */
  readonly authClock?: () => number;
  /**
   * Run as one of several HTTP processes of this member (`node start --workers N`, decision 0014):
   * appends go to the member's one sequencer; chain sync, the outbox, checkpoints, anchoring and
   * export jobs run in the primary, not here.
   */
  readonly worker?: { readonly appender: LogAppender; readonly broadcast: NodeBroadcast };
  /** The primary of a multi-process member: serves no HTTP, tells its workers through this. */
  readonly primary?: { readonly broadcast: NodeBroadcast };
  /** Serve HTTPS with these PEM files (`node start --tls-cert/--tls-key`), instead of node.json's `tls`. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** postgres://... for the node's stores; default: the CARELEDGER_DATABASE_URL environment variable. */
  readonly databaseUrl?: string;
  /** On PostgreSQL: how long the log sequencer's lease lasts unrenewed (decision 0022; default 5 s). */
  readonly sequencerLeaseMs?: number;
  /** The research registry as the release pipeline reads it (issue 18); default: none, every study unknown. */
  readonly researchPorts?: ReleasePorts;
}

/** The composition root of one member node: storage, keys, ledger, chain sync and HTTP. */
export async function startNode(dir: string, options: StartNodeOptions = {}): Promise<RunningNode> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stored = loadNodeConfig(dir);
  const config = options.host === undefined ? stored : { ...stored, host: options.host };
  const paths = nodePaths(dir);
  for (const folder of config.fhir?.profileFolders ?? []) {
    const loaded = loadFhirProfiles(resolve(dir, folder));
    log(`[${config.name}] FHIR profiles: ${loaded.length} StructureDefinition(s) from ${folder}`);
  }
  if (config.devIdentityHeader === true) {
    // The header trusts the caller's word for who they are: never reachable from another machine.
    if (!isLoopbackHost(config.host)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `devIdentityHeader is on, so the node binds to loopback only; host ${config.host} is not (turn devIdentityHeader off to serve a network)`,
      );
    }
    log(
      `[${config.name}] WARNING: DEVELOPMENT IDENTITY HEADER ON: any local process can act as any user (X-CareLedger-Identity); loopback only; never in production`,
    );
  }
  const deployment = loadDeployment(config.deploymentFile);
  // Issue 17 item 4: never run against a chain whose id or contract code differs from the record.
  await checkChainAtStart(
    createChainClient(config.chain.rpcUrl, config.chain.chainId),
    deployment,
    config.chain.chainId,
    (line) => log(`[${config.name}] ${line}`),
  );
  const account = loadOrCreateLedgerKey(paths.ledgerKey);
  const logKey = loadOrCreateLogSignerKey(paths.logSignerKey, config.logOrigin);
  const adminToken = loadOrCreateAdminToken(paths.adminToken);
  // Owner-only files: database (and so its WAL), keystore, keys (issue 14, item 11).
  restrictFileModes(dir, paths.database);
  // The patient's allergies as the prescriber sees them; none when they may not read them.
  const checkDrugAllergy = createDrugAllergyCheck(async (patientId, context) =>
    (
      await repository.everything(patientId, context, ['AllergyIntolerance']).catch((): Resource[] => [])
    ).filter((r): r is AllergyIntolerance => r.resourceType === 'AllergyIntolerance'),
  );
  const db: SqliteDatabase = openDatabase(
    paths.database,
    [
      ...outboxMigrations,
      ...chainIndexMigrations,
      ...consentOpeningMigrations,
      ...openingDeliveryMigrations,
      ...logMigrations,
      ...keyStoreMigrations,
      ...recordMigrations,
      ...exportJobMigrations,
      ...breakGlassMigrations,
      ...authMigrations,
      ...ledgerKeyChallengeMigrations,
      ...supplyMigrations,
      ...claimLeaseMigrations,
      ...shareMigrations,
    ],
    { refuseNewer: true },
  );
  // Issue 17 item 1: CARELEDGER_DATABASE_URL=postgres://... moves the node's stores to PostgreSQL.
  const databaseUrl = options.databaseUrl ?? process.env[DATABASE_URL_ENV];
  const stores = await openNodeStorage({
    sqlite: db,
    databaseUrl,
    log: (line) => log(`[${config.name}] ${line}`),
  });
  // Decision 0026: processes of one member that share only its PostgreSQL database, on this machine or
  // others, tell each other what their caches must drop through it (node:cluster workers through IPC).
  const notifications =
    stores.kind === 'postgres' && options.worker === undefined && isPostgresUrl(databaseUrl)
      ? openMemberNotifications(databaseUrl)
      : undefined;
  const sharedBroadcast =
    notifications !== undefined && options.primary === undefined
      ? startPostgresNodeBroadcast({ notifications, log: (line) => log(`[${config.name}] ${line}`) })
      : undefined;
  const memberBroadcast = options.worker?.broadcast ?? options.primary?.broadcast ?? sharedBroadcast;
  const client = createChainClient(config.chain.rpcUrl, config.chain.chainId);
  const now = () => Date.now();

  const outbox = new Outbox({
    storage: stores.outbox,
    account,
    client,
    chainId: config.chain.chainId,
    onLog: (line) => log(`[${config.name}] ${line}`),
  });
  const ledger = new ConsortiumLedger(deployment, outbox, client);
  // Issue 21: the live licence check, only when node.json asks for it (enforced while `required`).
  const practitionerCheck =
    config.practitionerCredentials?.required === true ||
    (config.practitionerCredentials !== undefined && deployment.contracts.credentialStatus !== undefined)
      ? await startPractitionerCheck({
          config: config.practitionerCredentials,
          client,
          credentialStatus: deployment.contracts.credentialStatus,
          chainId: config.chain.chainId,
          log: (line) => log(`[${config.name}] ${line}`),
          // Decision 0028: any member's practitioner by ledger account, from this node's chain index.
          attestation: (address) => stores.chainIndex.practitioner(address),
          accountOf: async (id) => (await stores.auth.userByFhirUser(`Practitioner/${id}`))?.ledgerAddress,
        })
      : undefined;
  const index = stores.chainIndex;
  // Decision 0013: set once the openings store is open; the indexer's first sync needs none.
  let openingFanOut: ReturnType<typeof createOpeningFanOut> | undefined;
  // Consent decisions kept between requests, dropped by this indexer's batches (decision 0017).
  // A grant a proxy or guardian signed counts only while their delegation is in force (decision 0021).
  const consentDecisions = new ConsentDecisionCache((query) =>
    evaluateConsent(index, openings, query, { delegationInForce }),
  );
  const indexer = new ChainIndexer({
    client,
    storage: reportIndexedEvents(index, {
      onEvents: (events) => {
        consentDecisions.noteIndexed(events);
        (options.primary?.broadcast ?? sharedBroadcast)?.publish({
          topic: 'chain-indexed',
          events: [...events],
        });
        openingFanOut?.noteIndexed(events);
      },
      onRollback: () => {
        consentDecisions.clear();
        (options.primary?.broadcast ?? sharedBroadcast)?.publish({ topic: 'chain-rollback' });
      },
    }),
    deployment,
    onLog: (line) => log(`[${config.name}] ${line}`),
  });

  // Decision 0014: only the primary syncs the chain; a worker reads the index it keeps, and hears of
  // indexed events through the member's broadcast.
  if (options.worker === undefined) await indexer.sync();
  if (memberBroadcast !== undefined) invalidateOnMemberEvents(memberBroadcast, consentDecisions);
  const breakGlass = stores.breakGlass;
  const logOptions: LogServicesOptions = {
    db,
    storage: stores.log,
    ...(options.worker === undefined ? {} : { follower: options.worker.appender }),
    origin: config.logOrigin,
    signerKey: logKey.signerKey,
    self: account.address,
    ledger,
    index,
    log: (line) => log(`[${config.name}] ${line}`),
    ...(config.log?.witnessQuorum === undefined ? {} : { witnessQuorum: config.log.witnessQuorum }),
    ...(config.log?.anchorIntervalMs === undefined ? {} : { anchorIntervalMs: config.log.anchorIntervalMs }),
  };
  // Decision 0022: on PostgreSQL every process of the member queues its log groups in the database and
  // the one holding the lease sequences them (SQLite keeps decision 0014's primary and IPC).
  const logServices: LogServices =
    stores.kind === 'postgres' && options.worker === undefined && isPostgresUrl(databaseUrl)
      ? await startDatabaseSequencedLogServices(logOptions, {
          url: databaseUrl,
          bindAddress: config.host,
          ...(notifications === undefined ? {} : { notifications }),
          ...(options.sequencerLeaseMs === undefined ? {} : { leaseMs: options.sequencerLeaseMs }),
          currentVersion: async (resourceType, id) =>
            (await stores.records.current(resourceType, id))?.versionId ?? 0,
        })
      : await startLogServices(logOptions);

  /** Proxies and guardians sign for a patient while ConsentRegistry says so (read from the chain). */
  const delegationInForce = async (patient: `0x${string}`, signer: `0x${string}`, at: number) =>
    client.readContract({
      address: deployment.contracts.consentRegistry,
      abi: consentRegistryAbi,
      functionName: 'isDelegate',
      args: [patient, signer, BigInt(at)],
    });
  const isDelegate = (patient: `0x${string}`, signer: `0x${string}`) =>
    delegationInForce(patient, signer, Math.floor(Date.now() / 1000));
  const crypto = await openVault(dir, db, {
    dataKeys: (provider) => stores.dataKeys(provider),
    ...(config.vaultKeys === undefined ? {} : { keys: config.vaultKeys }),
    log: (line) => log(`[${config.name}] ${line}`),
  });
  // Decision 0013: grant terms are on chain only as a commitment; the openings this node enforces
  // are sealed under its node key, bound to their grant id.
  const openingStore = stores.consentOpenings(createVaultOpeningSealer(crypto));
  const openings = {
    load: (grantId: `0x${string}`) => openingStore.load(grantId),
    grantIdsOf: (patient: `0x${string}`) => openingStore.grantIdsOf(patient),
    // A new opening can turn a remembered denial of its patient into a permit.
    save: async (opening: Parameters<typeof openingStore.save>[0]) => {
      await openingStore.save(opening);
      consentDecisions.noteIndexed([
        { contract: 'consent', name: 'ConsentGranted', args: { patient: opening.grant.patient } },
      ]);
      // The member's other processes drop theirs too (decision 0026).
      memberBroadcast?.publish({ topic: 'consent-changed', patient: opening.grant.patient });
    },
  };
  // Openings owed to other members are queued in this node's database and re-sent with backoff until
  // each acknowledges (the primary pumps the queue); logs name grant ids and members only.
  const openingQueue = createOpeningDeliveryQueue({
    store: stores.openingDeliveries,
    index,
    openings,
    self: account.address,
    log: (line) => log(`[${config.name}] ${line}`),
  });
  const deliverOpening = openingQueue.enqueue;
  openingFanOut = createOpeningFanOut({
    openings,
    deliver: deliverOpening,
    log: (line) => log(`[${config.name}] ${line}`),
  });
  // Patients stored here are announced on RecordLocator (off for deployments that predate it).
  const locator =
    deployment.contracts.recordLocator === undefined || options.worker !== undefined
      ? undefined
      : new RecordLocatorAnnouncer({ ledger, index, log: (line) => log(`[${config.name}] ${line}`) });
  // A cluster worker holds no announcer: it relays the addresses it stored or erased to the primary,
  // whose announcer takes them (decision 0014 §8).
  const locatorHooks =
    locator !== undefined
      ? announcingHooks(locator)
      : options.worker !== undefined && deployment.contracts.recordLocator !== undefined
        ? relayingHooks(options.worker.broadcast)
        : undefined;
  if (locator !== undefined && options.primary !== undefined)
    announceRelayed(options.primary.broadcast, locator);
  // Issue 19: set once authentication exists; the vault asks it before writing a MedicationDispense.
  let supply: SupplyModule | undefined;
  const repository = new FhirRepository({
    beforeWrite: async (resource, context, options) => {
      // Issue 22: drug–allergy check when prescribing (src/clinician/drug-allergy-check.ts).
      await checkDrugAllergy(resource, context);
      return supply?.checkDispense(resource, context, options);
    },
    ...(locatorHooks ?? {}),
    storage: stores.records,
    crypto,
    log: logServices.log,
    observer: { display: config.organization, origin: config.logOrigin },
    // Issue 14 item 8: a record that fails its integrity check alerts the operator and the privacy officer (ids only).
    onIntegrityFailure: (failure) => {
      const subject = `${failure.resourceType}/${failure.id}/_history/${failure.versionId}`;
      log(`[${config.name}] integrity alert: ${subject} failed its integrity check`);
      for (const recipient of ['role:operator', 'role:privacy-officer']) {
        authStore
          .insertNotification({
            id: randomUUID(),
            recipient,
            kind: 'integrity-alert',
            message: `${subject} failed its integrity check and was left out of a search`,
            subject,
            createdAt: new Date().toISOString(),
          })
          .catch((error: unknown) =>
            log(`[${config.name}] integrity alert not stored: ${(error as Error).message}`),
          );
      }
    },
    breakGlass,
    ...(config.breakGlass === undefined ? {} : { breakGlassPolicy: config.breakGlass }),
    policy: new AccessPolicy({
      ...(practitionerCheck === undefined ? {} : { practitionerCredential: practitionerCheck.check }),
      consent: consentDecisions.check,
      // Issue 14 item 5, issue 16: a member's search touches only the patients that granted it something.
      grantingPatients: (grantee, at) => listGrantingPatients(index, grantee, at),
      nodeAddress: account.address,
      breakGlass,
    }),
  });

  // Users' TOTP secrets are sealed under the node key, bound to the user id (AES-GCM associated data).
  const secretRef = (userId: string) => ({
    resourceType: 'UserSecret',
    id: userId,
    versionId: '1',
    patientId: '',
  });
  const seal = async (userId: string, secret: string) => {
    const sealed = await crypto.encrypt(secretRef(userId), new TextEncoder().encode(secret));
    return JSON.stringify({
      u: userId,
      k: sealed.keyVersion,
      f: sealed.format,
      n: Buffer.from(sealed.nonce).toString('base64'),
      c: Buffer.from(sealed.ciphertext).toString('base64'),
    });
  };
  const openSecret = async (text: string) => {
    const s = JSON.parse(text) as { u: string; k: number; f: 1; n: string; c: string };
    const plain = await crypto.decrypt(secretRef(s.u), {
      format: s.f,
      keyVersion: s.k,
      nonce: Buffer.from(s.n, 'base64'),
      ciphertext: Buffer.from(s.c, 'base64'),
    });
    return new TextDecoder().decode(plain);
  };
  const authStore = stores.auth;
  const issuer = config.publicUrl.replace(/\/$/, '');
  const authServer = new AuthorizationServer({
    store: authStore,
    issuer,
    fhirBaseUrl: `${issuer}/fhir`,
    signingKey: loadOrCreateTokenSigningKey(paths.tokenSigningKey),
    openSecret,
    ...(options.authClock === undefined ? {} : { now: options.authClock }),
    // A lockout is audited like a refused access (a sealed AuditEvent, its salted hash in the log)
    // and logged for the operator; no one is notified (a notice would tell an attacker the account exists).
    onLockout: async (lockout) => {
      log(
        `[${config.name}] security: sign-in ${lockout.scope} key ${lockout.keyHash.slice(0, 12)} locked ${lockout.until === undefined ? 'until the operator unlocks it' : `until ${lockout.until}`} after ${lockout.failures} failures`,
      );
      await repository
        .recordDenied(
          'operation',
          {
            who: lockout.fhirUser ?? 'Device/unknown-account',
            organization: config.organization,
            purpose: 'HOPERAT',
          },
          {
            entity: `Device/authorization-server/throttle/${lockout.scope}/${lockout.keyHash.slice(0, 16)}`,
            reason: `${lockout.scope} locked after ${lockout.failures} consecutive failures${lockout.until === undefined ? ' (operator unlock needed)' : ` until ${lockout.until}`}`,
          },
        )
        .catch((error: unknown) =>
          log(`[${config.name}] security: lockout audit failed: ${(error as Error).message}`),
        );
    },
    isActiveMember: async (address) => (await index.member(address))?.status === 'active',
    practitionerAttestation: (address) => index.practitioner(address),
    patientByLedgerAddress: (address) => repository.patientIdByLedgerAddress(address),
    isPractitionerAttested: async (address) => {
      const practitioner = await index.practitioner(address);
      return (
        practitioner !== undefined &&
        practitioner.organization === account.address &&
        !practitioner.revoked &&
        practitioner.expiresAt > Math.floor(Date.now() / 1000)
      );
    },
  });
  const users = new UserDirectory({ store: authStore, seal, issuer });
  const portalClient = await registerPortalClient(users, authStore, issuer);
  if (!portalClient.registered) log(`[${config.name}] portal sign-in unavailable: ${portalClient.reason}`);
  const authenticate = createAuthenticator({
    organization: config.organization,
    devIdentityHeader: config.devIdentityHeader === true,
    bearer: async (token, c) => {
      const purpose = c.req.header('x-careledger-purpose');
      if (purpose !== undefined && !isPurposeOfUse(purpose)) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'unknown purpose of use');
      }
      // Issue 14: verifyAccessToken also ends a removed (or no longer approved) client's tokens.
      const claims = await authServer.verifyAccessToken(token);
      return authServer.accessContext(claims, purpose, config.organization);
    },
  });
  /** Break-glass needs a signed-in clinician's second factor: a fresh TOTP code in X-CareLedger-TOTP. */
  const verifySecondFactor = async (c: Context, context: AccessContext) => {
    const user = await authStore.userByFhirUser(context.who);
    if (user === undefined) {
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'break-glass needs a signed-in clinician with a second factor',
      );
    }
    try {
      const address = remoteAddress(c);
      await authServer.checkSecondFactor(
        user,
        c.req.header('x-careledger-totp') ?? '',
        address === undefined ? {} : { address },
      );
    } catch (error) {
      if (error instanceof CareLedgerError && error.code === 'ERR_RATE_LIMITED') throw error;
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'break-glass needs a valid one-time code (X-CareLedger-TOTP)',
        {
          details: { reason: 'second-factor' },
        },
      );
    }
  };
  const onBreakGlass = async (session: BreakGlassSession) => {
    const message = `${session.who} opened break-glass access to Patient/${session.patientId} until ${session.expiresAt}`;
    for (const recipient of [`Patient/${session.patientId}`, 'role:privacy-officer']) {
      await authStore.insertNotification({
        id: randomUUID(),
        recipient,
        kind: 'break-glass',
        message,
        subject: `break-glass/${session.id}`,
        createdAt: new Date().toISOString(),
      });
    }
    const webhook = config.notifications?.webhookUrl;
    if (webhook !== undefined) {
      // Best effort and bounded: the notification is stored either way; the webhook carries ids only.
      await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'break-glass', node: config.name, ...session }),
        signal: AbortSignal.timeout(2000),
      }).catch((error: unknown) =>
        log(`[${config.name}] break-glass webhook failed: ${(error as Error).message}`),
      );
    }
  };
  const app = createNodeApp({
    ...(config.http === undefined ? {} : { loadShedding: config.http }),
    onError: (error) => log(`[${config.name}] internal error: ${(error as Error).stack}`),
  });
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/status', async (c) =>
    c.json({
      name: config.name,
      organization: config.organization,
      role: config.role,
      address: account.address,
      publicUrl: config.publicUrl,
      logOrigin: config.logOrigin,
      chain: { rpcUrl: config.chain.rpcUrl, chainId: config.chain.chainId, contracts: deployment.contracts },
      sync: await indexer.status(),
      outbox: await outbox.counts(),
      openingDelivery: await openingQueue.status(),
      log: await logServices.status(),
    }),
  );
  app.route(
    '/ledger',
    createLedgerRoutes({
      ledger,
      index,
      indexer,
      now,
      isDelegate,
      delegationInForce,
      audit: (entry) => logServices.log.append(entry),
      openings,
      deliverOpening,
      authenticate,
    }),
  );
  // Browser SMART apps call the FHIR API, the token endpoint and discovery from their own origin.
  for (const path of ['/fhir/*', '/oauth/token', '/oauth/revoke', '/oauth/userinfo', '/.well-known/*']) {
    app.use(path, corsPolicy({ allowedOrigins: allowedOrigins(config) }));
  }
  // _format, Accept, Content-Type, _pretty, Prefer: return and conditional reads, for every FHIR route.
  app.use('/fhir/*', fhirRestConventions());
  // Records between members (Core 5): a clinician's pull, and the patient's view across members.
  const exchange = new ExchangeService({
    self: {
      address: account.address,
      name: config.organization,
      sign: async (hash) => hexToBytes(await account.sign({ hash: bytesToHex(hash) })),
    },
    index,
    repository,
  });
  const exchangeOptions = {
    exchange,
    repository,
    authenticate,
    practitionerAddress: async (context: AccessContext) =>
      (await authStore.userByFhirUser(context.who))?.ledgerAddress,
  };
  app.route('/fhir', createExchangeFhirRoutes(exchangeOptions));
  // $validate, before the generic FHIR routes.
  app.route('/fhir', createValidateRoutes({ repository, authenticate }));
  // ValueSet/$expand (issue 13), before the generic FHIR routes.
  app.route('/fhir', createValueSetExpandRoutes({ repository, authenticate }));
  // Patient key enrolment (issue 14 item 12), before the generic FHIR routes.
  const enrolment = new LedgerKeyEnrolment({
    repository,
    challenges: stores.keyChallenges,
    node: issuer,
  });
  app.route('/fhir', createLedgerKeyEnrolmentRoutes({ enrolment, authenticate }));
  app.use('/patient/everywhere', corsPolicy({ allowedOrigins: allowedOrigins(config) }));
  app.route('/patient/everywhere', createPatientViewRoutes(exchangeOptions));
  // Bulk Data $export, before the generic FHIR routes (`/:type/:id` would take `/Patient/$export`).
  // Research studies (issue 18, decision 0024): ResearchRegistry, its event index, the cohort, /research.
  const research = createResearchModule({
    deployment,
    outbox,
    client,
    chainIndex: index,
    openings,
    repository,
    authenticate,
    adminToken,
    organization: config.organization,
    delegationInForce,
    audit: (entry) => logServices.log.append(entry),
    log: (line) => log(`[${config.name}] ${line}`),
  });
  if (research !== undefined) {
    app.route('/research', research.routes);
    app.route('/admin/research', research.adminRoutes);
  }
  // Study releases (issue 18): their jobs run in the bulk export's job system, through its source.
  const researchRelease = createResearchReleaseModule({
    ports: options.researchPorts ?? research?.ports ?? NO_RESEARCH_REGISTRY,
    dir,
    jobs: stores.exportJobs,
    member: account.address,
    baseUrl: issuer,
    authenticate,
    log: (line) => log(`[${config.name}] ${line}`),
  });
  const bulkExport = createBulkExportModule({
    storage: stores.exportJobs,
    source: researchRelease.exportSource(createVaultExportSource(repository)),
    keys: createVaultJobKeySealer(crypto),
    dir: join(dir, 'exports'),
    resourceTypes: SUPPORTED_RESOURCE_TYPES,
    authenticate,
    baseUrl: issuer,
    ...(config.bulkExport?.fileTtlHours === undefined
      ? {}
      : { fileTtlMs: config.bulkExport.fileTtlHours * 3600 * 1000 }),
    log: (line) => log(`[${config.name}] ${line}`),
  });
  app.route('/fhir', bulkExport.routes);
  researchRelease.attach(bulkExport.service);
  app.route('/research', researchRelease.routes);
  // Claims at a payer member (issue 20, decision 0019): Claim/$submit before the generic FHIR routes.
  const claims =
    config.role === 'payer'
      ? createClaimsModule({
          dir,
          deployment,
          outbox,
          client,
          repository,
          consent: consentDecisions.check,
          memberRole: async (address) => {
            const member = await index.member(address);
            return member?.status === 'active' ? member.role : undefined;
          },
          organization: config.organization,
          authenticate,
          adminToken,
          claimLeases: stores.claimLeases,
        })
      : undefined;
  if (claims !== undefined) {
    app.route('/fhir', claims.fhirRoutes);
    app.route('/claims', claims.routes);
    app.route('/admin/claims', claims.adminRoutes);
  }
  // Before /fhir: SMART discovery lives at /fhir/.well-known/smart-configuration too.
  app.route(
    '/',
    createOAuthRoutes({
      server: authServer,
      users,
      organization: config.organization,
      authenticate,
      softwareStatementKeys: config.clientRegistration?.softwareStatementKeys ?? [],
    }),
  );
  // Batch and transaction Bundles; their entries run through these same routes (`app.fetch`).
  app.route(
    '/fhir',
    createFhirBundleRoutes({
      repository,
      authenticate,
      resourceTypes: SUPPORTED_RESOURCE_TYPES,
      dispatch: async (request) => app.fetch(request),
    }),
  );
  // PATCH and conditional update and delete (`PUT|DELETE|PATCH /Type?search`).
  app.route(
    '/fhir',
    createFhirConditionalRoutes({ repository, authenticate, resourceTypes: SUPPORTED_RESOURCE_TYPES }),
  );
  // Issue 21 (decision 0028): a licence before an attestation, issuer-key votes, practitioners' standing.
  const nodeCredentials = createNodeCredentials({
    client,
    credentialStatus: deployment.contracts.credentialStatus,
    chainId: config.chain.chainId,
    required: () => practitionerCheck?.isRequired() ?? false,
    ...(practitionerCheck === undefined
      ? {}
      : {
          // Switched at run time by the operator and kept in node.json for the next start (this process only).
          setRequired: (required: boolean) => {
            practitionerCheck.setRequired(required);
            const saved = loadNodeConfig(dir);
            saveNodeConfig(dir, {
              ...saved,
              practitionerCredentials: { ...saved.practitionerCredentials, required },
            });
          },
        }),
    ...(practitionerCheck === undefined ? {} : { liveIndex: practitionerCheck.index }),
    outbox,
    adminToken,
    practitioner: (address) => index.practitioner(address),
    users: authStore,
    memberName: async (address) => (await index.member(address))?.name,
  });
  app.route(
    '/fhir',
    createFhirRoutes({
      repository,
      ...(nodeCredentials.showResource === undefined ? {} : { showResource: nodeCredentials.showResource }),
      software: { name: 'CareLedger', version: '0.1.0' },
      authenticate,
      verifySecondFactor,
      breakGlassMaxMinutes: config.breakGlass?.maxMinutes ?? DEFAULT_BREAK_GLASS_MAX_MINUTES,
      onBreakGlass,
      summary: { organization: config.organization, signer: account },
      smart: authServer.smartConfiguration(),
      consent: new FhirConsentService({
        repository,
        index,
        domain: () => createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry),
        relayGrant: (grant, signature) => ledger.relayGrant(grant, signature),
        relayRevoke: (revoke, signature) => ledger.relayRevoke(revoke, signature),
        syncIndex: () => indexer.sync(),
        isDelegate,
        openings,
        deliverOpening,
      }),
    }),
  );
  app.route('/', createAccountRoutes({ store: authStore, authenticate }));
  app.route('/break-glass', createBreakGlassRoutes({ repository, authenticate }));
  // Issue 22, decision 0030: telehealth shares with clinicians outside the consortium.
  app.route(
    '/',
    createShareRoutes({
      service: new ShareService({
        store: new SqliteShareStore(db),
        throttle: new SignInThrottle({
          store: authStore,
          now: options.authClock ?? Date.now,
        }),
      }),
      repository,
      authenticate,
      organization: config.organization,
      signer: account,
    }),
  );
  // Issue 22: HIPAA individual rights and the patient's requests (decision 0029).
  app.route(
    '/patient-rights',
    createPatientRightsRoutes({
      repository,
      authenticate,
      organization: config.organization,
      nameOf: createRecipientNames({
        memberName: async (address) => (await index.member(address))?.name,
        practitionerOrganization: async (address) => (await index.practitioner(address))?.organization,
        organization: config.organization,
      }),
    }),
  );
  app.route(
    '/access-requests',
    createAccessRequestRoutes({
      repository,
      authenticate,
      organization: config.organization,
      organizationAddress: account.address,
      notify: (n) => authStore.insertNotification(n),
    }),
  );
  // Issue 19, decision 0023: EPCIS capture and query, verification, recalls (off before SupplyChain).
  supply = createSupplyModule({
    deployment,
    outbox,
    client,
    store: stores.supply,
    key: loadOrCreateSupplyKey(dir),
    authenticate,
    appendLog: (entry) => logServices.log.append(entry),
    records: repository,
    // 'supply-recall' is not yet in the auth store's closed list of kinds (NOTES-H7 asks H4 to add it).
    notify: (n) =>
      authStore.insertNotification({
        id: randomUUID(),
        kind: 'supply-recall' as Parameters<typeof authStore.insertNotification>[0]['kind'],
        createdAt: new Date().toISOString(),
        ...n,
      }),
    organization: config.organization,
    log: (line) => log(`[${config.name}] ${line}`),
  });
  if (supply !== undefined) {
    app.route('/epcis', supply.epcisRoutes);
    app.route('/supply', supply.supplyRoutes);
  }
  app.route('/log', logServices.logRoutes);
  app.route('/witness', logServices.witnessRoutes);
  if (nodeCredentials.routes !== undefined) app.route('/admin/credentials', nodeCredentials.routes);
  app.route(
    '/admin',
    createAdminRoutes({
      ledger,
      adminToken,
      client,
      users,
      ...(nodeCredentials.attestationCredential === undefined
        ? {}
        : { attestationCredential: nodeCredentials.attestationCredential }),
      erasePatient: (id) =>
        repository.erasePatient(id, {
          who: 'Device/node-operator',
          organization: config.organization,
          purpose: 'PATRQT',
        }),
    }),
  );
  app.route('/', createOpenApiRoute());
  app.route(
    '/portal',
    createPortalRoutes({
      consentNonce: (patient) =>
        client.readContract({
          address: deployment.contracts.consentRegistry,
          abi: consentRegistryAbi,
          functionName: 'nonces',
          args: [patient],
        }),
    }),
  );
  app.get('/', (c) => c.redirect('/portal/', 302));

  // Load the R4 definitions and search parameters before listening: lazily, the first FHIR request
  // after a (re)start blocked the event loop for about a second, long enough to fail health probes.
  const definitionsStarted = performance.now();
  loadSearchParameters();
  log(
    `[${config.name}] FHIR R4 definitions loaded in ${Math.round(performance.now() - definitionsStarted)} ms`,
  );

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
  // Patients stored before a crash (or before this feature) are announced now; refusals retry.
  const locatorRetry = setInterval(() => void locator?.retry(), 5_000);
  locatorRetry.unref();
  const locatorSweep =
    locator === undefined
      ? undefined
      : repository
          .patientLedgerAddresses()
          .then((addresses) => locator.announceAll(addresses))
          .catch((error: unknown) =>
            log(`[${config.name}] record locator sweep failed: ${(error as Error).message}`),
          );

  const tls = options.tls ?? config.tls;
  // The primary of a multi-process member serves no HTTP: its workers do, on the member's port.
  const server =
    options.primary === undefined
      ? serve({
          fetch: app.fetch,
          hostname: config.host,
          port: options.port ?? config.port,
          ...(tls === undefined ? {} : httpsServerOptions(tls)),
        })
      : undefined;
  let url = '';
  if (server !== undefined) {
    trackConnectionArrival(server);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address() as AddressInfo;
    url = `${tls === undefined ? 'http' : 'https'}://${config.host}:${address.port}`;
    log(`[${config.name}] listening on ${url} as ${account.address}`);
  }
  const versions = stores.records;

  return {
    config,
    url,
    ...(server === undefined ? {} : { httpServer: server }),
    deployment,
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
              (await versions.current(resourceType, id))?.versionId ?? 0,
          },
        }),
    ...(practitionerCheck === undefined ? {} : { credentialIndex: practitionerCheck.index }),
    async close() {
      if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
      await bulkExport.stop();
      await supply?.stop();
      await research?.stop();
      clearInterval(locatorRetry);
      practitionerCheck?.stop();
      await locatorSweep;
      await locator?.idle();
      await logServices.stop();
      // A planned stop waits (bounded) for what it signed to be mined, so the chain's final snapshot,
      // taken after the nodes stop, holds it; anything left is re-sent on the next start.
      const unmined = await outbox.drain(5_000);
      if (unmined > 0)
        log(`[${config.name}] ${unmined} transaction(s) not yet mined; re-sent on the next start`);
      await outbox.stop();
      await indexer.stop();
      await openingQueue.stop();
      sharedBroadcast?.close();
      await notifications?.close();
      db.close();
      await stores.close();
    },
  };
}
