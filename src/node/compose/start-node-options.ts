import type { ReleasePorts } from '../../research/release/index.js';
import type { LogAppender } from '../workers/follower-log.js';
import type { NodeBroadcast } from '../workers/node-broadcast.js';

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
