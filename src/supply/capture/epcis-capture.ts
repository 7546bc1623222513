/**
 * EPCIS 2.0 capture at a trading partner's node (decision 0023): the document is checked whole, each
 * event is hashed (CBV 2.0 §8.9 event hash ID), the ledger writes it stands for are made through the
 * node's outbox and mined, its hash goes into the node's transparency log, and it is stored for query.
 * Events are taken in document order. Each capture is an EPCIS 2.0 capture job, kept for
 * `GET /epcis/capture/{captureID}`. With GS1-Capture-Error-Behaviour `rollback` (the default) a refused
 * event stops the capture there; the events before it stay captured, since their ledger writes are
 * already mined and a chain cannot be rolled back (the job and the answer say how many). With `proceed`
 * the refused events are listed in the job and the others are captured.
 */
import { randomUUID } from 'node:crypto';
import type { Address } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { canonicalTimestamp, computeEpcisEventHash, type EpcisEvent } from '../epcis/index.js';
import type { SupplyKey } from '../ledger/supply-keys.js';
import type { SupplyLedger } from '../ledger/supply-ledger.js';
import type { CaptureError, CaptureJob, StoredEpcisEvent, SupplyStore } from '../storage/supply-store.js';
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
  /** With `proceed`: the events refused (the others are captured). */
  readonly errors: readonly CaptureError[];
}

export type CaptureErrorBehaviour = CaptureJob['captureErrorBehaviour'];

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

  async capture(body: unknown, errorBehaviour: CaptureErrorBehaviour = 'rollback'): Promise<CaptureResult> {
    const document = parseEpcisDocument(body);
    // Derive every event's hash and ledger writes before anything is written: a malformed event
    // later in the document refuses the whole capture.
    const prepared = document.events.map((event, index) => ({
      event,
      eventHash: computeEpcisEventHash(event, { context: document.context }),
      actions: ledgerActionsOf(event, this.deps.key, index),
    }));
    const run = this.queue.then(() => this.captureAll(prepared, errorBehaviour));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async captureAll(
    prepared: readonly { event: EpcisEvent; eventHash: string; actions: LedgerAction[] }[],
    errorBehaviour: CaptureErrorBehaviour,
  ): Promise<CaptureResult> {
    const job: CaptureJob = {
      captureID: this.newId(),
      createdAt: this.now().toISOString(),
      running: true,
      success: false,
      captureErrorBehaviour: errorBehaviour,
      eventIDs: [],
      errors: [],
    };
    await this.deps.store.saveCaptureJob(job);
    const events: CapturedEvent[] = [];
    const errors: CaptureError[] = [];
    const finish = () =>
      this.deps.store.saveCaptureJob({
        ...job,
        running: false,
        success: errors.length === 0,
        finishedAt: this.now().toISOString(),
        eventIDs: events.map((e) => e.eventID),
        errors,
      });
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
        if (!(error instanceof CareLedgerError)) {
          errors.push({ code: 'ERR_INTERNAL', message: `event ${index}: internal error`, event: index });
          await finish();
          throw error;
        }
        const reason = (error.details as { reason?: unknown } | undefined)?.reason;
        errors.push({
          code: error.code,
          message: `event ${index}: ${error.message}`,
          ...(typeof reason === 'string' ? { reason } : {}),
          event: index,
        });
        if (errorBehaviour === 'proceed') continue;
        await finish();
        throw new CareLedgerError(error.code, `event ${index}: ${error.message}`, {
          details: {
            ...(error.details ?? {}),
            event: index,
            captured: events.length,
            captureID: job.captureID,
          },
          cause: error,
        });
      }
      events.push(await this.store(item.event, item.eventHash, ledger));
    }
    await finish();
    return { captureID: job.captureID, events, errors };
  }

  /** A shipment's addressee: a ledger address, or the member its GLN belongs to in the directory. */
  private async addressee(target: { to: Address } | { toGln: string }): Promise<Address> {
    if ('to' in target) return target.to;
    const owner = await this.deps.ledger.glnOwner(target.toGln);
    if (owner === undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `GLN ${target.toGln} belongs to no member (GLN directory)`,
        {
          details: { reason: 'unknown-gln' },
        },
      );
    }
    return owner;
  }

  /** A receipt at a GLN another member claimed is refused: the goods are not where the event says. */
  private async checkReceivedAt(gln: string | undefined): Promise<void> {
    if (gln === undefined) return;
    const owner = await this.deps.ledger.glnOwner(gln);
    if (owner !== undefined && owner !== this.deps.ledger.self) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `bizLocation GLN ${gln} belongs to another member`, {
        details: { reason: 'biz-location-not-ours' },
      });
    }
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
          entries.push(await ledger.ship(action.pack, await this.addressee(action)));
          break;
        case 'receive':
          await this.checkReceivedAt(action.atGln);
          entries.push(await ledger.receive(action.pack));
          break;
        case 'dispense':
          entries.push(await ledger.dispense(action.pack));
          break;
        case 'destroy':
          entries.push(await ledger.destroy(action.pack));
          break;
        case 'aggregate':
          entries.push(await ledger.aggregate(action.parent, action.children));
          break;
        case 'disaggregate':
          entries.push(await ledger.disaggregate(action.parent, action.children));
          break;
        case 'ship-case':
          entries.push(await ledger.shipCase(action.parent, await this.addressee(action)));
          break;
        case 'receive-case':
          await this.checkReceivedAt(action.atGln);
          entries.push(await ledger.receiveCase(action.parent));
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
