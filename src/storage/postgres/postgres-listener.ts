import pg from 'pg';

export interface PostgresListener {
  close(): Promise<void>;
}

/**
 * LISTENs on `channels` over one dedicated connection (a pooled one cannot hold a LISTEN) and calls
 * `onNotify(channel, payload)` for each notification, and `onNotify(channel)` (no payload) each time
 * the connection starts listening: what was notified while it did not is missed. Notifications are
 * only a wake-up: a connection that breaks is reopened after `retryMs`, and callers poll as well (or,
 * for the member's broadcast, drop what they derived), so a lost notification delays, never loses,
 * anything.
 */
export function listenPostgres(
  url: string,
  channels: readonly string[],
  onNotify: (channel: string, payload?: string) => void,
  options: { retryMs?: number; onError?: (error: Error) => void } = {},
): PostgresListener {
  let client: pg.Client | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, application_name: 'careledger-listen' });
    client = next;
    next.on('notification', (message) => onNotify(message.channel, message.payload));
    next.on('error', (error) => {
      options.onError?.(error);
      retry(next);
    });
    try {
      await next.connect();
      for (const channel of channels) await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      // Anything notified while we were not listening: callers look now.
      for (const channel of channels) onNotify(channel);
    } catch (error) {
      options.onError?.(error as Error);
      retry(next);
    }
  };
  const retry = (broken: pg.Client) => {
    if (closed || client !== broken) return;
    client = undefined;
    void broken.end().catch(() => undefined);
    timer = setTimeout(() => void connect(), options.retryMs ?? 1_000);
    timer.unref();
  };
  void connect();
  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
