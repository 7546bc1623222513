import { openPostgresDatabase } from '../../storage/postgres/postgres-database.js';
import { listenPostgres } from '../../storage/postgres/postgres-listener.js';
import { PENDING_CHANNEL, SETTLED_CHANNEL } from '../../storage/postgres/postgres-pending-entries.js';

/** The member's broadcast channel in its database (decision 0026). */
export const NODE_EVENTS_CHANNEL = 'careledger_node_events';

/** Every channel a process of the member listens on: the log queue's two and the broadcast. */
const CHANNELS = [PENDING_CHANNEL, SETTLED_CHANNEL, NODE_EVENTS_CHANNEL] as const;

/** Called with a notification's payload, or with none when listening (re)started (anything before was missed). */
export type NotificationHandler = (payload?: string) => void;

/**
 * One process's PostgreSQL notifications (decisions 0022, 0026): one dedicated connection LISTENs on
 * the member's channels for the log sequencer, its writers and the broadcast together, so a process
 * holds one such connection however many of them it uses. `notify` sends through one pooled
 * connection, opened when needed and closed when idle, in the order called.
 */
export interface MemberNotifications {
  on(channel: (typeof CHANNELS)[number], handler: NotificationHandler): () => void;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export function openMemberNotifications(url: string): MemberNotifications {
  const handlers = new Map<string, Set<NotificationHandler>>(CHANNELS.map((c) => [c, new Set()]));
  const listener = listenPostgres(url, CHANNELS, (channel, payload) => {
    for (const handler of handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch {
        // One handler's failure is its own; the others still hear the notification.
      }
    }
  });
  const sender = openPostgresDatabase(url, { maxConnections: 1 });
  return {
    on(channel, handler) {
      const set = handlers.get(channel) as Set<NotificationHandler>;
      set.add(handler);
      return () => set.delete(handler);
    },
    async notify(channel, payload) {
      await sender.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      await listener.close();
      await sender.close();
    },
  };
}
