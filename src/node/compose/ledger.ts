import type { Hono } from 'hono';
import { createLedgerRoutes, type LedgerRouteDeps } from '../../http/routes/ledger-routes.js';
import { ConsortiumLedger, consentRegistryAbi, Outbox } from '../../ledger/index.js';
import { ChainIndexer } from '../../sync/index.js';
import { reportIndexedEvents } from '../../sync/report-indexed-events.js';
import { invalidateOnMemberEvents } from '../workers/consent-cache-invalidation.js';
import type { ConsentState, DelegationInForce } from './consent.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

/** The outbox that signs and sends this node's transactions, and the consortium's contracts over it. */
export function createLedger(base: NodeBase) {
  const { deployment, account, client, config, stores, say } = base;
  const outbox = new Outbox({
    storage: stores.outbox,
    account,
    client,
    chainId: config.chain.chainId,
    onLog: say,
  });
  const ledger = new ConsortiumLedger(deployment, outbox, client);
  /** Proxies and guardians sign for a patient while ConsentRegistry says so (read from the chain). */
  const delegationInForce: DelegationInForce = async (patient, signer, at) =>
    client.readContract({
      address: deployment.contracts.consentRegistry,
      abi: consentRegistryAbi,
      functionName: 'isDelegate',
      args: [patient, signer, BigInt(at)],
    });
  const isDelegate = (patient: `0x${string}`, signer: `0x${string}`) =>
    delegationInForce(patient, signer, Math.floor(Date.now() / 1000));
  return { outbox, ledger, delegationInForce, isDelegate };
}

/**
 * The index of the chain's events this node keeps; each batch drops the consent decisions it may
 * change, here and (through the member's broadcast) in the member's other processes.
 */
export async function startChainIndexer(base: NodeBase, options: StartNodeOptions, consent: ConsentState) {
  const { client, deployment, stores, sharedBroadcast, memberBroadcast, say } = base;
  const { consentDecisions } = consent;
  const indexer = new ChainIndexer({
    client,
    storage: reportIndexedEvents(stores.chainIndex, {
      onEvents: (events) => {
        consentDecisions.noteIndexed(events);
        (options.primary?.broadcast ?? sharedBroadcast)?.publish({
          topic: 'chain-indexed',
          events: [...events],
        });
        consent.noteIndexed(events);
      },
      onRollback: () => {
        consentDecisions.clear();
        (options.primary?.broadcast ?? sharedBroadcast)?.publish({ topic: 'chain-rollback' });
      },
    }),
    deployment,
    onLog: say,
  });
  // Decision 0014: only the primary syncs the chain; a worker reads the index it keeps, and hears of
  // indexed events through the member's broadcast.
  if (options.worker === undefined) await indexer.sync();
  if (memberBroadcast !== undefined) invalidateOnMemberEvents(memberBroadcast, consentDecisions);
  return indexer;
}

/** /ledger: grants and revocations relayed for patients, the index's view of the chain. */
export function mountLedgerRoutes(app: Hono, deps: LedgerRouteDeps) {
  app.route('/ledger', createLedgerRoutes(deps));
}
