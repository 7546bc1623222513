/**
 * EPCIS 2.0 capture at a trading partner's node (decision 0023): the document is checked whole, each
 * event is hashed (CBV 2.0 §8.9 event hash ID), the ledger writes it stands for are made through the
 * node's outbox and mined, its hash goes into the node's transparency log, and it is stored for query.
 * Events are taken in document order; a refusal stops the capture there, and the events before it
 * stay captured (each one's ledger writes are already on chain), as the response says.
 */
import { randomUUID } from 'node:crypto';
import { CareLedgerError } from '../../errors/index.js';
import { canonicalTimestamp, computeEpcisEventHash, type EpcisEvent } from '../epcis/index.js';
import type { SupplyKey } from '../ledger/supply-keys.js';
import type { SupplyLedger } from '../ledger/supply-ledger.js';
import type { StoredEpcisEvent, SupplyStore } from '../storage/supply-store.js';
import { type LedgerAction, ledgerActionsOf } from './ledger-actions.js';
import { cbvWord, epcsOf, parseEpcisDocument } from './parse-epcis-document.js';

export interface EpcisCaptureDeps {
  readonly store: SupplyStore;
  readonly ledger: SupplyLedger;
  readonly key: SupplyKey;
  /** Appends one entry to the node's transparency log; durable on return. */
  readonly appendLog: (entry: Uint8Array) => Promise<{ index: number }>;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

export interface CapturedEvent {
  readonly eventHash: string;
  readonly eventID: string;
  readonly logIndex: number;
  /** False when the event was already captured here (a capture is idempotent per event hash). */
  readonly stored: boolean;
  readonly ledger: readonly string[];
}

export interface CaptureResult {
  readonly captureID: string;
  readonly events: readonly CapturedEvent[];
}

/** The log entry of a captured event: its hash ID, nothing else. */
export function formatEpcisLogEntry(eventHash: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ t: 'epcis', h: eventHash }));
}

export class EpcisCaptureService {
  private readonly now: () => Date;
  private readonly newId: () => string;
  /** One capture at a time: each event's ledger writes must see the ones before them mined. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: EpcisCaptureDeps) {
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? randomUUID;
  }

  async capture(body: unknown): Promise<CaptureResult> {
    const document = parseEpcisDocument(body);
    // Derive every event's hash and ledger writes before anything is written: a malformed event
    // later in the document refuses the whole capture.
    const prepared = document.events.map((event, index) => ({
      event,
      eventHash: computeEpcisEventHash(event, { context: document.context }),
      actions: ledgerActionsOf(event, this.deps.key, index),
    }));
    const run = this.queue.then(() => this.captureAll(prepared));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async captureAll(
    prepared: readonly { event: EpcisEvent; eventHash: string; actions: LedgerAction[] }[],
  ): Promise<CaptureResult> {
    const captureID = this.newId();
    const events: CapturedEvent[] = [];
    for (const [index, item] of prepared.entries()) {
      const existing = await this.deps.store.eventByHash(item.eventHash);
      if (existing !== undefined) {
        events.push({
          eventHash: item.eventHash,
          eventID: existing.eventId ?? item.eventHash,
          logIndex: existing.logIndex,
          stored: false,
          ledger: [],
        });
        continue;
      }
      let ledger: string[];
      try {
        ledger = await this.applyToLedger(item.actions);
      } catch (error) {
        if (error instanceof CareLedgerError) {
          throw new CareLedgerError(error.code, `event ${index}: ${error.message}`, {
            details: { ...(error.details ?? {}), event: index, captured: events.length },
            cause: error,
          });
        }
        throw error;
      }
      events.push(await this.store(item.event, item.eventHash, ledger));
    }
    return { captureID, events };
  }

  private async applyToLedger(actions: readonly LedgerAction[]): Promise<string[]> {
    const { ledger } = this.deps;
    const entries = [];
    for (const action of actions) {
      switch (action.kind) {
        case 'commission':
          entries.push(await ledger.commission(action.pack, action.lot, action.expiry));
          break;
        case 'ship':
          entries.push(await ledger.ship(action.pack, action.to));
          break;
        case 'receive':
          entries.push(await ledger.receive(action.pack));
          break;
        case 'dispense':
          entries.push(await ledger.dispense(action.pack));
          break;
        case 'destroy':
          entries.push(await ledger.destroy(action.pack));
          break;
      }
    }
    const txHashes: string[] = [];
    for (const entry of entries) {
      const done = await ledger.confirmed(entry);
      const flags = await ledger.suspectFlags(done);
      if (flags.length > 0) {
        // The chain kept the flag as evidence; the event itself is refused (issue 19, "Bad input").
        throw new CareLedgerError('ERR_UNPROCESSABLE', `the pack was flagged suspect (${flags[0]?.reason})`, {
          details: { reason: 'suspect', suspect: flags[0]?.reason, pack: flags[0]?.pack },
        });
      }
      txHashes.push(done.txHash);
    }
    return txHashes;
  }

  private async store(event: EpcisEvent, eventHash: string, ledger: string[]): Promise<CapturedEvent> {
    const recordTime = this.now().toISOString();
    const eventID = event.eventID ?? eventHash;
    const { index } = await this.deps.appendLog(formatEpcisLogEntry(eventHash));
    const bizStep = cbvWord(event.bizStep, 'BizStep');
    const disposition = cbvWord(event.disposition, 'Disp');
    const stored: StoredEpcisEvent = {
      eventHash,
      eventId: eventID,
      eventType: event.type,
      eventTime: canonicalTimestamp(event.eventTime),
      recordTime,
      ...(event.action === undefined ? {} : { action: event.action }),
      ...(bizStep === undefined ? {} : { bizStep }),
      ...(disposition === undefined ? {} : { disposition }),
      ...(event.bizLocation === undefined ? {} : { bizLocation: event.bizLocation.id }),
      ...(event.readPoint === undefined ? {} : { readPoint: event.readPoint.id }),
      epcs: epcsOf(event),
      logIndex: index,
      json: JSON.stringify({ ...event, eventID, recordTime }),
    };
    const fresh = await this.deps.store.saveEvent(stored);
    return { eventHash, eventID, logIndex: index, stored: fresh, ledger };
  }
}
