/**
 * Recalls (issue 19 item 6). The manufacturer recalls a lot or one serial on the ledger; every member
 * node follows SupplyChain's recall events, finds in its own store the packs of that lot it dispensed,
 * and reaches each patient and prescriber (`reachPatient`, wired by the module to the portal
 * notification, a FHIR Communication and a DetectedIssue). It then reports on the ledger how many
 * patients it reached: a count per member, never who, which is all the manufacturer learns.
 */
import type { Address, Hex } from 'viem';
import { lotKeyOf, packKeyOf, type SupplyKey } from '../ledger/supply-keys.js';
import type { CustodyStep, SupplyLedger } from '../ledger/supply-ledger.js';
import type { DispenseRecord, SupplyStore } from '../storage/supply-store.js';

export interface Recall {
  /** `LotRecalled` or `PackRecalled`, with the transaction that made it. */
  readonly id: string;
  readonly kind: 'lot' | 'pack';
  readonly lot: Hex;
  readonly pack?: Hex;
  readonly manufacturer: Address;
  readonly txHash: Hex;
}

export interface RecallServiceDeps {
  readonly ledger: SupplyLedger;
  readonly key: SupplyKey;
  readonly store: SupplyStore;
  /** Tells one patient (and the prescriber of their dispense) of the recall; awaited. */
  readonly reachPatient: (dispense: DispenseRecord, recall: Recall) => Promise<void>;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  /** Blocks per log query. */
  readonly batchSize?: number;
  /** Where following starts on a fresh node: the contracts' deployment block. */
  readonly fromBlock?: number;
}

export interface RecallReach {
  readonly lot: Hex;
  readonly members: readonly { readonly member: Address; readonly patients: number; readonly txHash: Hex }[];
  readonly patients: number;
}

export class RecallService {
  private following: Promise<number> | undefined;
  private again: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RecallServiceDeps) {}

  lotKey(gtin: string, lot: string): Hex {
    return lotKeyOf(this.deps.key, gtin, lot);
  }

  /** Recalls a lot (this member must be the manufacturer that commissioned it); waits for its block. */
  async recallLot(gtin: string, lot: string): Promise<{ lot: Hex; txHash: Hex }> {
    const key = this.lotKey(gtin, lot);
    const done = await this.deps.ledger.confirmed(await this.deps.ledger.recallLot(key));
    return { lot: key, txHash: done.txHash };
  }

  async recallPack(gtin: string, serial: string): Promise<{ pack: Hex; txHash: Hex }> {
    const key = packKeyOf(this.deps.key, gtin, serial);
    const done = await this.deps.ledger.confirmed(await this.deps.ledger.recallPack(key));
    return { pack: key, txHash: done.txHash };
  }

  /** The members' reports of a lot's recall: per member, how many patients it reached. */
  async reach(lot: Hex): Promise<RecallReach> {
    const steps = (await this.deps.ledger.history(lot)).filter((step) => step.event === 'RecallReach');
    const members = steps.map((step) => ({
      member: step.args.member as Address,
      patients: Number(step.args.patients),
      txHash: step.txHash,
    }));
    return { lot, members, patients: members.reduce((sum, m) => sum + m.patients, 0) };
  }

  start(intervalMs = 1_000): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.follow().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.following?.catch(() => undefined);
    await this.again?.catch(() => undefined);
  }

  /**
   * Handles every recall mined up to now; resolves with how many this call handled. A call made while
   * a pass is running gets one more pass after it (that pass may have read the head too early).
   */
  follow(): Promise<number> {
    if (this.following !== undefined) {
      this.again ??= this.following
        .catch(() => 0)
        .then(() => {
          this.again = undefined;
          return this.follow();
        });
      return this.again;
    }
    this.following = this.deps.store
      .followExclusively(() => this.followToHead())
      .finally(() => {
        this.following = undefined;
      });
    return this.following;
  }

  private async followToHead(): Promise<number> {
    const { ledger, store } = this.deps;
    const head = await ledger.headBlock();
    let from = ((await store.followCursor()) ?? (this.deps.fromBlock ?? 0) - 1) + 1;
    let handled = 0;
    const batch = this.deps.batchSize ?? 5_000;
    while (from <= head) {
      const to = Math.min(head, from + batch - 1);
      for (const step of await ledger.events(from, to, ['LotRecalled', 'PackRecalled'])) {
        if (await this.handle(toRecall(step))) handled += 1;
      }
      await store.saveFollowCursor(to);
      from = to + 1;
    }
    return handled;
  }

  private async handle(recall: Recall): Promise<boolean> {
    const { store } = this.deps;
    if ((await store.recallHandled(recall.id)) !== undefined) return false;
    const dispenses =
      recall.kind === 'lot'
        ? await store.dispensesOfLot(recall.lot)
        : await store.dispensesOfPack(recall.pack as Hex);
    const patients = new Set<string>();
    for (const dispense of dispenses) {
      await this.deps.reachPatient(dispense, recall);
      patients.add(dispense.patientId);
    }
    if (patients.size > 0) await this.deps.ledger.reportRecallReach(recall.lot, patients.size);
    await store.saveRecallHandled({
      recallId: recall.id,
      patients: patients.size,
      handledAt: (this.deps.now?.() ?? new Date()).toISOString(),
    });
    this.deps.log?.(
      `supply: recall of ${recall.kind} ${(recall.pack ?? recall.lot).slice(0, 12)}… reached ${patients.size} patient(s) here`,
    );
    return true;
  }
}

function toRecall(step: CustodyStep): Recall {
  const kind = step.event === 'LotRecalled' ? 'lot' : 'pack';
  const lot = step.args.lot as Hex;
  return {
    id: `${step.event}:${kind === 'lot' ? lot : (step.args.pack as Hex)}:${step.txHash}`,
    kind,
    lot,
    ...(kind === 'pack' ? { pack: step.args.pack as Hex } : {}),
    manufacturer: step.args.manufacturer as Address,
    txHash: step.txHash,
  };
}
