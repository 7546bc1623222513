import { randomUUID } from 'node:crypto';
import { type MemberNotifications, NODE_EVENTS_CHANNEL } from './member-notifications.js';
import { type NodeBroadcast, type NodeEvent, NodeEventListeners } from './node-broadcast.js';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; leave room for the envelope. */
const MAX_PAYLOAD_BYTES = 7_000;

const TOPICS: ReadonlySet<string> = new Set<NodeEvent['topic']>([
  'resource-changed',
  'consent-changed',
  'patient-erased',
  'chain-indexed',
  'chain-rollback',
  'token-revoked',
  'records-located',
]);

export interface PostgresNodeBroadcast extends NodeBroadcast {
  /** Stops listening (the notifications connection is its owner's to close). */
  close(): void;
}

export interface PostgresNodeBroadcastOptions {
  /** This process's notifications on the member's database, shared by every process on every machine. */
  readonly notifications: MemberNotifications;
  readonly log?: (line: string) => void;
}

/**
 * What a chain-indexed event must carry across processes: what the consent decision cache reads
 * (contract, event name, the patient). Everything else stays in the index, where every process reads it.
 */
function compact(event: NodeEvent): NodeEvent {
  if (event.topic !== 'chain-indexed') return event;
  return {
    topic: 'chain-indexed',
    events: event.events.map((e) => {
      const { contract, name, args } = e as {
        contract?: unknown;
        name?: unknown;
        args?: { patient?: unknown };
      };
      const patient = args?.patient;
      return { contract, name, args: typeof patient === 'string' ? { patient } : {} };
    }),
  };
}

function isNodeEvent(value: unknown): value is NodeEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    TOPICS.has((value as { topic?: unknown }).topic as string) &&
    ((value as { topic: string }).topic !== 'chain-indexed' ||
      Array.isArray((value as { events?: unknown }).events))
  );
}

/**
 * The NodeBroadcast of a member whose processes share a PostgreSQL database, on one machine or several
 * (decision 0026): an event is delivered to this process's listeners at once and sent to the others
 * with NOTIFY on the member's channel, through the same authenticated database connection as
 * everything else they share, so no other port is opened between machines. Events carry identifiers
 * only, never PHI (NodeEvent). A chain-indexed batch too large for one notification goes out as
 * `chain-rollback` (drop everything derived from the index), which is always safe.
 *
 * Notifications are not durable: while a process's listening connection is down it misses events, so
 * each time it (re)starts listening its listeners get `chain-rollback` and drop what they derived.
 */
export function startPostgresNodeBroadcast(options: PostgresNodeBroadcastOptions): PostgresNodeBroadcast {
  const self = randomUUID();
  const listeners = new NodeEventListeners();
  const { notifications } = options;
  const stop = notifications.on(NODE_EVENTS_CHANNEL, (payload) => {
    if (payload === undefined) {
      listeners.deliver({ topic: 'chain-rollback' });
      return;
    }
    let message: { from?: unknown; event?: unknown };
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      return;
    }
    if (message.from === self || !isNodeEvent(message.event)) return;
    listeners.deliver(message.event);
  });
  let closed = false;
  return {
    publish(event) {
      listeners.deliver(event);
      // An indexer pass that found no event changes nothing another process derived.
      if (closed || (event.topic === 'chain-indexed' && event.events.length === 0)) return;
      let payload = JSON.stringify({ from: self, event: compact(event) });
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
        payload = JSON.stringify({ from: self, event: { topic: 'chain-rollback' } });
      notifications.notify(NODE_EVENTS_CHANNEL, payload).catch((error: unknown) =>
        // Not sent: the others keep what they derived as long as they would without a broadcast.
        options.log?.(
          `broadcast: could not notify the member's other processes: ${(error as Error).message}`,
        ),
      );
    },
    subscribe: (listener) => listeners.subscribe(listener),
    close() {
      closed = true;
      stop();
    },
  };
}
