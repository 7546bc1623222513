/**
 * The supply chain as one module (decision 0023, issue 19): the SupplyChain ledger client, EPCIS
 * capture and query, product verification, the dispense check the vault runs before creating a
 * MedicationDispense, and the recall follower. The composition root mounts its routes and hook.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import type { PublicClient } from 'viem';
import type { AccessContext } from '../audit/create-audit-event.js';
import type { Authenticate } from '../http/authenticate-request.js';
import type { Deployment } from '../ledger/deployment.js';
import type { Outbox } from '../ledger/outbox.js';
import type { BeforeWriteOptions } from '../vault/before-write.js';
import { EpcisCaptureService } from './capture/epcis-capture.js';
import { createDispenseCheck, type DispensePermit } from './dispense/dispense-check.js';
import { createEpcisRoutes } from './http/epcis-routes.js';
import { createSupplyRoutes } from './http/supply-routes.js';
import type { SupplyKey } from './ledger/supply-keys.js';
import { SupplyLedger } from './ledger/supply-ledger.js';
import { createReachPatient, type SupplyNotification } from './recall/reach-patient.js';
import { RecallService } from './recall/recall-service.js';
import type { SupplyStore } from './storage/supply-store.js';
import { type PackIdentity, verifyPack } from './verify/verify-pack.js';

export interface SupplyModuleDeps {
  readonly deployment: Deployment;
  readonly outbox: Outbox;
  readonly client: PublicClient;
  readonly store: SupplyStore;
  readonly key: SupplyKey;
  readonly authenticate: Authenticate;
  /** Appends to this node's transparency log (durable on return). */
  readonly appendLog: (entry: Uint8Array) => Promise<{ index: number }>;
  /** The vault, through its access-checked, audited gateway. */
  readonly records: {
    read(resourceType: string, id: string, context: AccessContext): Promise<Resource>;
    create(resource: Resource, context: AccessContext): Promise<Resource>;
  };
  readonly notify: (notification: SupplyNotification) => void | Promise<void>;
  readonly organization: string;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

export interface SupplyModule {
  readonly ledger: SupplyLedger;
  /** This node's supply tables (benchmarks seed dispenses through it). */
  readonly store: SupplyStore;
  readonly capture: EpcisCaptureService;
  readonly recalls: RecallService;
  /** Mount at `/epcis`. */
  readonly epcisRoutes: Hono;
  /** Mount at `/supply`. */
  readonly supplyRoutes: Hono;
  /** The vault's pre-write hook: refuses a bad pack, marks a good one dispensed. */
  readonly checkDispense: (
    resource: Resource,
    context: AccessContext,
    options?: BeforeWriteOptions,
  ) => Promise<DispensePermit | undefined>;
  start(intervalMs?: number): void;
  stop(): Promise<void>;
}

/** Undefined when the deployment predates the SupplyChain contract (the feature is then off). */
export function createSupplyModule(deps: SupplyModuleDeps): SupplyModule | undefined {
  const address = deps.deployment.contracts.supplyChain;
  if (address === undefined) return undefined;
  const ledger = new SupplyLedger(address, deps.outbox, deps.client, deps.deployment.deployBlock);
  const verify = (pack: PackIdentity, asker: `0x${string}`) =>
    verifyPack(
      {
        ledger,
        key: deps.key,
        ...(deps.now === undefined ? {} : { now: deps.now }),
        dispensedHere: async (packKey) => (await deps.store.dispensesOfPack(packKey)).length > 0,
      },
      pack,
      asker,
    );
  const capture = new EpcisCaptureService({
    store: deps.store,
    ledger,
    key: deps.key,
    appendLog: deps.appendLog,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const recalls = new RecallService({
    ledger,
    key: deps.key,
    store: deps.store,
    fromBlock: deps.deployment.deployBlock,
    reachPatient: createReachPatient({
      create: (resource, context) => deps.records.create(resource, context),
      notify: deps.notify,
      organization: deps.organization,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.log === undefined ? {} : { log: deps.log }),
  });
  const routeDeps = {
    authenticate: deps.authenticate,
    capture,
    store: deps.store,
    ledger,
    verify,
    recalls,
    self: ledger.self,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  };
  return {
    ledger,
    store: deps.store,
    capture,
    recalls,
    epcisRoutes: createEpcisRoutes(routeDeps),
    supplyRoutes: createSupplyRoutes(routeDeps),
    checkDispense: createDispenseCheck({
      ledger,
      key: deps.key,
      store: deps.store,
      verify,
      read: (resourceType, id, context) => deps.records.read(resourceType, id, context),
      ...(deps.now === undefined ? {} : { now: deps.now }),
      ...(deps.log === undefined ? {} : { log: deps.log }),
    }),
    start: (intervalMs = 1_000) => recalls.start(intervalMs),
    stop: () => recalls.stop(),
  };
}
