import type { Address, Hex } from 'viem';
import type { ConsentOpening } from './consent-opening.js';

/** An indexed ledger event, as much of it as the fan-out reads (src/sync IndexedEvent has it). */
interface EventSummary {
  readonly contract: string;
  readonly name: string;
  readonly args: Readonly<Record<string, string | number | boolean>>;
}

export interface OpeningFanOutOptions {
  /** The openings this node holds: one grant's, and every grant id held for a patient. */
  readonly openings: {
    load(grantId: Hex): Promise<ConsentOpening | undefined>;
    grantIdsOf(patient: Address): Promise<Hex[]>;
  };
  /** Sends an opening to every member that must enforce it, as the index now says. */
  readonly deliver: (opening: ConsentOpening) => Promise<unknown>;
  /** Where a failed fan-out is reported (grant ids and addresses only). */
  readonly log: (line: string) => void;
}

/**
 * Delivers openings when the ledger index learns who must hold them (decision 0013): once a grant this
 * node holds the opening of is indexed (every custodian announced before it is then known), and when a
 * member announces records of a patient whose openings this node holds (a new custodian). Delivery at
 * relay time can miss a custodian whose announcement was not yet indexed; this closes that gap.
 *
 * `noteIndexed` is called before and after each batch is applied with the same array; it acts after.
 */
export function createOpeningFanOut(options: OpeningFanOutOptions) {
  const pending = new WeakSet<readonly EventSummary[]>();
  const fanOut = async (events: readonly EventSummary[]) => {
    const grantIds = new Set<Hex>();
    for (const event of events) {
      if (event.contract === 'consent' && event.name === 'ConsentGranted') {
        grantIds.add(String(event.args.grantId) as Hex);
      } else if (event.contract === 'locator' && event.name === 'RecordsLocated') {
        for (const id of await options.openings.grantIdsOf(String(event.args.patient) as Address)) {
          grantIds.add(id);
        }
      }
    }
    for (const grantId of grantIds) {
      const opening = await options.openings.load(grantId);
      if (opening !== undefined) await options.deliver(opening);
    }
  };
  return {
    noteIndexed(events: readonly EventSummary[]): void {
      if (!pending.has(events)) {
        pending.add(events);
        return;
      }
      pending.delete(events);
      // Not awaited: the indexer must not wait on other members; failures are logged, and the next
      // announcement or the patient's portal sends again.
      fanOut(events).catch((error: unknown) =>
        options.log(`consent opening fan-out failed: ${(error as Error).name}`),
      );
    },
  };
}
