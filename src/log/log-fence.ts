import type { CareLedgerError } from '../errors/index.js';
import { logError } from './log-error.js';
import { bytesEqual } from './merkle-hash.js';

/**
 * A state of this log that others hold and that the log must never fall behind: its latest anchor on
 * the ledger, or the size a witness last cosigned. A node restored from an older copy of its database
 * has a shorter log; appending there would re-use indices (a fork), so the log fences itself instead.
 */
export interface LogFloor {
  /** Who holds it, as the fence reason names it: `anchor`, `witness <name>`. */
  readonly source: string;
  readonly size: number;
  /** The root at `size`, when the holder tells it (an anchor does; a witness's 409 gives the size only). */
  readonly rootHash?: Uint8Array;
}

/**
 * The floors others hold of this log, and the fence it raises once it is found behind or beside one.
 * A fence is never lowered: the log is reopened over storage that is not behind.
 */
export class LogFence {
  /** Per source, the highest floor seen, and whether its root was found in this tree. */
  readonly #floors = new Map<string, { floor: LogFloor; rootChecked: boolean }>();
  #reason: string | undefined;

  /** Why the log refuses to append and sign, or undefined. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Keeps `floor` if it is the first or a higher one from its source (its root not yet checked). */
  record(floor: LogFloor): void {
    const known = this.#floors.get(floor.source);
    if (known === undefined || known.floor.size < floor.size)
      this.#floors.set(floor.source, { floor, rootChecked: false });
  }

  /** Fences for `reason` unless already fenced (the first reason stays). */
  fenceBecause(reason: string): void {
    this.#reason ??= reason;
  }

  error(): CareLedgerError {
    return logError('ERR_LOG_UNAVAILABLE', 'fenced', `log is fenced: ${this.#reason}`, {
      fence: this.#reason,
    });
  }

  /**
   * Throws (fenced) if a tree of `size` with `rootHash` is behind a floor, or if its root at a floor's
   * size, from `rootAt`, is not the floor's. Each floor's root is checked once.
   */
  async verifyAbove(
    size: number,
    rootHash: Uint8Array,
    rootAt: (size: number) => Promise<Uint8Array>,
  ): Promise<void> {
    if (this.#reason !== undefined) throw this.error();
    // Sizes first, synchronously, so no append slips in while a root is being read.
    for (const { floor } of this.#floors.values()) {
      if (size < floor.size) {
        this.fenceBecause(`log size ${size} is behind ${floor.source} ${floor.size}`);
        throw this.error();
      }
    }
    for (const known of this.#floors.values()) {
      const { floor } = known;
      if (floor.rootHash === undefined || known.rootChecked) continue;
      const root = size === floor.size ? rootHash : await rootAt(floor.size);
      if (!bytesEqual(root, floor.rootHash)) {
        this.fenceBecause(`log root at size ${floor.size} differs from ${floor.source}`);
        throw this.error();
      }
      known.rootChecked = true;
    }
  }
}
