/**
 * What one process of a member tells the others so their caches stay right (decision 0014): a
 * resource changed, a patient's consent changed, a patient was erased, the chain index moved. Every
 * process of the member receives every event, its own included, once the primary has relayed it; a
 * single-process node delivers them in-process. Events are plain data (they cross the IPC channel)
 * and carry identifiers only, never PHI.
 */
export type NodeEvent =
  | { readonly topic: 'resource-changed'; readonly resourceType: string; readonly id: string }
  | { readonly topic: 'consent-changed'; readonly patient?: string }
  | { readonly topic: 'patient-erased'; readonly patientId: string }
  | { readonly topic: 'chain-indexed'; readonly events: readonly unknown[] }
  | { readonly topic: 'chain-rollback' }
  | { readonly topic: 'token-revoked'; readonly tokenId: string }
  /** A worker stored (announce) or erased (withdraw) records of this ledger address; the primary announces. */
  | {
      readonly topic: 'records-located';
      readonly intent: 'announce' | 'withdraw';
      readonly ledgerAddress: string;
    };

export type NodeEventListener = (event: NodeEvent) => void;

export interface NodeBroadcast {
  /** Sends an event to every process of the member (this one included). */
  publish(event: NodeEvent): void;
  /** Calls `listener` with every event; returns the unsubscribe function. */
  subscribe(listener: NodeEventListener): () => void;
}

/** The listeners of one process; `deliver` hands them an event (local publish, or one relayed). */
export class NodeEventListeners {
  readonly #listeners = new Set<NodeEventListener>();

  subscribe(listener: NodeEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  deliver(event: NodeEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A cache that fails to invalidate is its own problem; the others still hear the event.
      }
    }
  }
}

/** A single-process node's broadcast: events are delivered in-process, synchronously. */
export function createLocalBroadcast(): NodeBroadcast & { readonly listeners: NodeEventListeners } {
  const listeners = new NodeEventListeners();
  return {
    listeners,
    publish: (event) => listeners.deliver(event),
    subscribe: (listener) => listeners.subscribe(listener),
  };
}
