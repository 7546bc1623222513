import { ConsentDecisionCache } from '../../access/consent-decision-cache.js';
import { type ConsentOpeningStore, createOpeningFanOut, evaluateConsent } from '../../consent/index.js';
import { createOpeningDeliveryQueue } from '../../consent/opening-delivery-queue.js';
import { createVaultOpeningSealer } from '../../storage/sqlite/sqlite-consent-opening-store.js';
import type { VaultCrypto } from '../../vault/index.js';
import type { NodeBase } from './node-base.js';

/** Whether a proxy's or guardian's delegation is in force at a time (ConsentRegistry, decision 0021). */
export type DelegationInForce = (
  patient: `0x${string}`,
  signer: `0x${string}`,
  at: number,
) => Promise<boolean>;

/**
 * Consent as this node enforces it: the decisions it keeps between requests (decision 0017), the
 * sealed openings of grants (decision 0013) and their delivery to other members. The cache exists
 * before the chain's first sync; the openings once the vault is open (`openOpenings`).
 */
export function createConsentState(base: NodeBase, delegationInForce: DelegationInForce) {
  const { stores, memberBroadcast, account, say } = base;
  const index = stores.chainIndex;
  // Decision 0013: set once the openings store is open; the indexer's first sync needs none.
  let openings: ConsentOpeningStore | undefined;
  let openingFanOut: ReturnType<typeof createOpeningFanOut> | undefined;
  // Consent decisions kept between requests, dropped by this indexer's batches (decision 0017).
  // A grant a proxy or guardian signed counts only while their delegation is in force (decision 0021).
  const consentDecisions = new ConsentDecisionCache((query) => {
    if (openings === undefined) throw new Error('consent evaluated before the openings store is open');
    return evaluateConsent(index, openings, query, { delegationInForce });
  });
  return {
    consentDecisions,
    /** Indexed events may name grants whose openings other members are owed. */
    noteIndexed: (events: Parameters<ReturnType<typeof createOpeningFanOut>['noteIndexed']>[0]) =>
      openingFanOut?.noteIndexed(events),
    /** Opens the grant openings sealed under the node key, and the queue that delivers them. */
    openOpenings(crypto: VaultCrypto) {
      // Decision 0013: grant terms are on chain only as a commitment; the openings this node enforces
      // are sealed under its node key, bound to their grant id.
      const openingStore = stores.consentOpenings(createVaultOpeningSealer(crypto));
      const opened = {
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
      openings = opened;
      // Openings owed to other members are queued in this node's database and re-sent with backoff until
      // each acknowledges (the primary pumps the queue); logs name grant ids and members only.
      const openingQueue = createOpeningDeliveryQueue({
        store: stores.openingDeliveries,
        index,
        openings: opened,
        self: account.address,
        log: say,
      });
      const deliverOpening = openingQueue.enqueue;
      openingFanOut = createOpeningFanOut({ openings: opened, deliver: deliverOpening, log: say });
      return { openings: opened, openingQueue, deliverOpening };
    },
  };
}

export type ConsentState = ReturnType<typeof createConsentState>;
