import { CareLedgerError } from '../errors/index.js';

/**
 * Where the per-patient claim leases live: one row per patient being adjudicated, shared by every
 * process of the payer member (the SQLite file its workers share, or its PostgreSQL database).
 */
export interface ClaimLeaseStore {
  /**
   * Takes the patient's lease for `holder` in one atomic statement if nobody holds it or its holder
   * let it expire; true when taken. `nowMs` is the caller's clock (a store may use its own).
   */
  tryClaim(patient: string, holder: string, leaseMs: number, nowMs: number): Promise<boolean>;
  /**
   * Extends the lease by `leaseMs` from now if `holder` still holds it; false if another process has
   * taken it since (it had expired) or it is gone. Holder names are unique per process and a process
   * adjudicates one submission at a time, so "still ours" means nobody else adjudicated in between.
   */
  renew(patient: string, holder: string, leaseMs: number, nowMs: number): Promise<boolean>;
  /** Gives the lease back, if `holder` still holds it. */
  release(patient: string, holder: string): Promise<void>;
}

/** One process's leases, for a payer that runs in one process (and tests). */
export class MemoryClaimLeaseStore implements ClaimLeaseStore {
  readonly #leases = new Map<string, { holder: string; expiresAt: number }>();

  async tryClaim(patient: string, holder: string, leaseMs: number, nowMs: number): Promise<boolean> {
    const held = this.#leases.get(patient);
    if (held !== undefined && held.expiresAt > nowMs) return false;
    this.#leases.set(patient, { holder, expiresAt: nowMs + leaseMs });
    return true;
  }

  async renew(patient: string, holder: string, leaseMs: number, nowMs: number): Promise<boolean> {
    const held = this.#leases.get(patient);
    if (held?.holder !== holder) return false;
    held.expiresAt = nowMs + leaseMs;
    return true;
  }

  async release(patient: string, holder: string): Promise<void> {
    if (this.#leases.get(patient)?.holder === holder) this.#leases.delete(patient);
  }
}

/**
 * The lease a submission holds, handed to its work. `confirm()` is called right before each durable
 * write (the decision's anchor, the stored Claim, ClaimResponse and EOB): it renews the lease and
 * throws if another process took it over meanwhile (this holder stalled past the lease), so a
 * submission that outlived its lease stops before writing instead of overlapping the next holder.
 */
export interface HeldLease {
  confirm(): Promise<void>;
}

export interface PatientClaimLeaseOptions {
  readonly store: ClaimLeaseStore;
  /** This process's name in the lease rows (unique per process). */
  readonly holder: string;
  /** How long a lease lasts if its holder dies before giving it back (default 60 s). */
  readonly leaseMs?: number;
  /** How long a submission waits for another process's lease before a 503 (default 10 s). */
  readonly waitMs?: number;
  readonly now?: () => number;
  /** Between attempts (default: a timer of `retryMs`, 25 ms). */
  readonly sleep?: () => Promise<void>;
  readonly retryMs?: number;
}

/** Seconds a submitter should wait after a busy patient (RFC 9110 §10.2.3). */
export const CLAIM_PATIENT_BUSY_RETRY_AFTER_SECONDS = 2;

/**
 * The per-patient critical section of `Claim/$submit` across every process of a payer member
 * (decision 0019): earlier decisions are read, the claim adjudicated and its decision stored while
 * the patient's lease row is held, so two processes never count the same deductible twice. A
 * submission that cannot have the lease within `waitMs` is refused with 503 and Retry-After.
 */
export function createPatientClaimLease(options: PatientClaimLeaseOptions) {
  const leaseMs = options.leaseMs ?? 60_000;
  const waitMs = options.waitMs ?? 10_000;
  const now = options.now ?? Date.now;
  const retryMs = options.retryMs ?? 25;
  const sleep = options.sleep ?? (() => new Promise<void>((resolve) => setTimeout(resolve, retryMs)));
  return async function withPatientLease<T>(
    patient: string,
    work: (lease: HeldLease) => Promise<T>,
  ): Promise<T> {
    const key = patient.toLowerCase();
    const deadline = now() + waitMs;
    while (!(await options.store.tryClaim(key, options.holder, leaseMs, now()))) {
      if (now() >= deadline)
        throw new CareLedgerError('ERR_STORAGE', 'another claim of this patient is being adjudicated', {
          details: { reason: 'claim-patient-busy', retryAfter: CLAIM_PATIENT_BUSY_RETRY_AFTER_SECONDS },
        });
      await sleep();
    }
    const lease: HeldLease = {
      async confirm() {
        if (await options.store.renew(key, options.holder, leaseMs, now())) return;
        throw new CareLedgerError(
          'ERR_STORAGE',
          'this submission outlived its lease on the patient; nothing more was written',
          { details: { reason: 'claim-lease-lost', retryAfter: CLAIM_PATIENT_BUSY_RETRY_AFTER_SECONDS } },
        );
      },
    };
    try {
      return await work(lease);
    } finally {
      await options.store.release(key, options.holder);
    }
  };
}

export type WithPatientLease = ReturnType<typeof createPatientClaimLease>;
