import type { ConsentDecisionCache } from '../../access/consent-decision-cache.js';
import type { NodeBroadcast } from './node-broadcast.js';

/**
 * Keeps a process's consent decision cache right when another process of the member changed what a
 * decision reads (decision 0026): that process indexed chain events into the shared index (its own
 * indexer reports to its own cache only), rolled the index back, or stored a consent opening. The
 * cache drops what the event may change; `chain-rollback` also stands for "events may have been
 * missed" (a broadcast connection restarted), and drops everything. Returns the unsubscribe function.
 */
export function invalidateOnMemberEvents(
  broadcast: Pick<NodeBroadcast, 'subscribe'>,
  cache: Pick<ConsentDecisionCache, 'noteIndexed' | 'clear'>,
): () => void {
  return broadcast.subscribe((event) => {
    if (event.topic === 'chain-indexed')
      cache.noteIndexed(event.events as Parameters<ConsentDecisionCache['noteIndexed']>[0]);
    else if (event.topic === 'chain-rollback') cache.clear();
    else if (event.topic === 'consent-changed') {
      if (event.patient === undefined) cache.clear();
      else
        cache.noteIndexed([
          { contract: 'consent', name: 'ConsentGranted', args: { patient: event.patient } },
        ]);
    }
  });
}
