import type { Resource } from '@medplum/fhirtypes';
import { type Address, isAddress } from 'viem';
import { patientLedgerAddress } from '../access/index.js';
import { CareLedgerError } from '../errors/index.js';
import type { ConsortiumLedger } from '../ledger/index.js';
import type { ChainIndexStorage } from '../sync/index.js';
import type { NodeBroadcast } from './workers/node-broadcast.js';

export interface RecordLocatorAnnouncerOptions {
  readonly ledger: Pick<ConsortiumLedger, 'address' | 'announceRecords' | 'withdrawRecords'>;
  readonly index: Pick<ChainIndexStorage, 'recordLocations'>;
  readonly log: (line: string) => void;
}

type Intent = 'announce' | 'withdraw';

/**
 * Keeps this member's RecordLocator pointers in step with the Patients it stores: a stored Patient
 * carrying a ledger address is announced once, an erased one withdrawn. Writes go through the durable
 * outbox; if it refuses (the chain is down) the intent is kept in memory and `retry` tries again, and
 * the start-up sweep (`announceAll`) covers what a restart forgot. It never throws into the FHIR write
 * that triggered it, and its log lines name no patient.
 */
export class RecordLocatorAnnouncer {
  /** Addresses this process has put in the outbox (so a second write does not enqueue again). */
  private readonly enqueued = new Set<Address>();
  /** The latest intent per address that the outbox refused; retried. */
  private readonly pending = new Map<Address, Intent>();
  /** Serialises the work so an announce and a withdraw for one address keep their order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: RecordLocatorAnnouncerOptions) {}

  /** For FhirRepository's `onStored`: announces every Patient with a ledger address. */
  noteStored(resources: readonly Resource[]): void {
    for (const resource of resources) {
      const address = patientLedgerAddress(resource);
      if (address !== undefined) void this.enqueue(address, 'announce');
    }
  }

  /** For FhirRepository's `onPatientErased`. */
  noteErased(ledgerAddress: Address | undefined): Promise<void> {
    return ledgerAddress === undefined ? Promise.resolve() : this.enqueue(ledgerAddress, 'withdraw');
  }

  /** Announces each address not yet announced by this member (the start-up sweep). */
  announceAll(addresses: readonly Address[]): Promise<void> {
    return Promise.all(addresses.map((address) => this.enqueue(address, 'announce'))).then(() => undefined);
  }

  /** Tries again what the outbox refused. */
  retry(): Promise<void> {
    const intents = [...this.pending];
    this.pending.clear();
    return Promise.all(intents.map(([address, intent]) => this.enqueue(address, intent))).then(
      () => undefined,
    );
  }

  /** Intents waiting for a retry. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Resolves once everything asked so far has been put in the outbox or deferred. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(address: Address, intent: Intent): Promise<void> {
    const run = this.queue.then(() => this.apply(address, intent));
    this.queue = run;
    return run;
  }

  /** Never rejects. */
  private async apply(address: Address, intent: Intent): Promise<void> {
    const { ledger, index, log } = this.options;
    // Work runs in order, so this intent supersedes any earlier refused one for the address.
    this.pending.delete(address);
    try {
      if (intent === 'announce') {
        if (this.enqueued.has(address)) return;
        // The index answers for earlier processes; `enqueued` for this one (the index lags the outbox).
        if ((await index.recordLocations(address)).includes(ledger.address)) {
          this.enqueued.add(address);
          return;
        }
        await ledger.announceRecords(address);
        this.enqueued.add(address);
      } else {
        this.enqueued.delete(address);
        await ledger.withdrawRecords(address);
      }
    } catch (error) {
      // A later intent for the same address replaces an earlier one: withdraw after announce wins.
      this.pending.set(address, intent);
      const code = error instanceof CareLedgerError ? error.code : 'unexpected error';
      log(`record locator: ${intent} deferred (${code}); it will be retried`);
    }
  }
}

/** The vault's hooks (FhirRepository's `onStored` and `onPatientErased`) that feed an announcer. */
export interface RecordLocatorHooks {
  onStored(resources: readonly Resource[]): void;
  onPatientErased(patientId: string, ledgerAddress: Address | undefined): Promise<void>;
}

/** The hooks of a process that announces itself (a single process, a primary, a PostgreSQL node). */
export function announcingHooks(announcer: RecordLocatorAnnouncer): RecordLocatorHooks {
  return {
    onStored: (resources) => announcer.noteStored(resources),
    onPatientErased: (_patientId, address) => announcer.noteErased(address),
  };
}

/**
 * The hooks of a cluster worker (decision 0014): it holds no announcer, so it tells the primary,
 * through the member's broadcast, which ledger addresses it stored or erased; the primary announces.
 */
export function relayingHooks(broadcast: Pick<NodeBroadcast, 'publish'>): RecordLocatorHooks {
  return {
    onStored: (resources) => {
      for (const resource of resources) {
        const address = patientLedgerAddress(resource);
        if (address !== undefined)
          broadcast.publish({ topic: 'records-located', intent: 'announce', ledgerAddress: address });
      }
    },
    onPatientErased: async (_patientId, address) => {
      if (address !== undefined)
        broadcast.publish({ topic: 'records-located', intent: 'withdraw', ledgerAddress: address });
    },
  };
}

/** The primary's side: what its workers relayed is announced (deduplicated and retried) here. */
export function announceRelayed(
  broadcast: Pick<NodeBroadcast, 'subscribe'>,
  announcer: RecordLocatorAnnouncer,
): () => void {
  return broadcast.subscribe((event) => {
    if (event.topic !== 'records-located' || !isAddress(event.ledgerAddress)) return;
    if (event.intent === 'announce') void announcer.announceAll([event.ledgerAddress]);
    else void announcer.noteErased(event.ledgerAddress);
  });
}
