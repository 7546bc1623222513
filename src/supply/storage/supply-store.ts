/**
 * What the supply module keeps at a node (decision 0023), declared here and implemented per storage
 * engine: the EPCIS events it captured, the packs it dispensed (to find the patients a recall must
 * reach: local ids only, never on chain), the recalls it has handled, and its place in the chain.
 */

/** One captured EPCIS event with the fields the standard query filters on pulled out. */
export interface StoredEpcisEvent {
  /** The EPCIS event hash ID (`ni:///sha-256;…?ver=CBV2.0`), unique at a node. */
  readonly eventHash: string;
  readonly eventId?: string;
  readonly eventType: string;
  /** ISO 8601 UTC with milliseconds, so strings order as times. */
  readonly eventTime: string;
  readonly recordTime: string;
  readonly action?: string;
  /** As a bare CBV word (`shipping`), whatever form the capture used. */
  readonly bizStep?: string;
  readonly disposition?: string;
  readonly bizLocation?: string;
  readonly readPoint?: string;
  /** Every EPC the event names, by role, each normalised to its GS1 Digital Link where one exists. */
  readonly epcs: readonly { readonly role: EpcRole; readonly epc: string }[];
  /** Index of the event hash's entry in this node's transparency log. */
  readonly logIndex: number;
  /** The event as captured (JSON-LD), with `eventID` and `recordTime` filled in. */
  readonly json: string;
}

export type EpcRole = 'epc' | 'child' | 'parent' | 'input' | 'output';

export interface EpcisEventFilter {
  readonly eventTypes?: readonly string[];
  readonly eventTimeFrom?: string;
  readonly eventTimeBefore?: string;
  readonly recordTimeFrom?: string;
  readonly recordTimeBefore?: string;
  readonly actions?: readonly string[];
  readonly bizSteps?: readonly string[];
  readonly dispositions?: readonly string[];
  readonly bizLocations?: readonly string[];
  readonly readPoints?: readonly string[];
  readonly eventIds?: readonly string[];
  /** EPC patterns (exact, or a prefix ending in `*`) and the roles they are matched against. */
  readonly epcMatches?: readonly {
    readonly roles: readonly EpcRole[];
    readonly patterns: readonly string[];
  }[];
  readonly limit: number;
  /** Keyset paging: events recorded after this (recordTime, eventHash). */
  readonly after?: { readonly recordTime: string; readonly eventHash: string };
}

/** A pack this node dispensed (or a device it implanted), and to whom (local ids), so a recall can find the patient. */
export interface DispenseRecord {
  readonly packKey: string;
  readonly lotKey: string;
  /** The id of the record that handed the unit out: a MedicationDispense, or a Device (`resourceType`). */
  readonly medicationDispenseId: string;
  /** Absent for a MedicationDispense (issue 19 item 7: `Device` for an implanted device). */
  readonly resourceType?: 'MedicationDispense' | 'Device';
  readonly patientId: string;
  /** `Practitioner/…` of the prescription, when the dispense names one. */
  readonly prescriber?: string;
  readonly dispensedAt: string;
}

export interface RecallHandled {
  /** `lot:<key>` or `pack:<key>`, with the transaction that recalled it. */
  readonly recallId: string;
  readonly patients: number;
  readonly handledAt: string;
}

/** A capture error as kept with its job (rendered as RFC 7807 problem details by the EPCIS routes). */
export interface CaptureError {
  readonly code: string;
  readonly message: string;
  readonly reason?: string;
  /** Index of the event at fault in the captured document. */
  readonly event?: number;
}

/** An EPCIS 2.0 capture job (REST binding `GET /capture/{captureID}`). */
export interface CaptureJob {
  readonly captureID: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly running: boolean;
  readonly success: boolean;
  readonly captureErrorBehaviour: 'rollback' | 'proceed';
  /** The eventIDs captured, in document order. */
  readonly eventIDs: readonly string[];
  readonly errors: readonly CaptureError[];
}

export interface SupplyStore {
  /** Stores an event; false (and nothing written) when an event with this hash is already stored. */
  saveEvent(event: StoredEpcisEvent): Promise<boolean>;
  eventByHash(eventHash: string): Promise<StoredEpcisEvent | undefined>;
  queryEvents(filter: EpcisEventFilter): Promise<StoredEpcisEvent[]>;
  /**
   * Claims a pack for a dispense here before the ledger is asked: false when this node already
   * dispensed (or is dispensing) it, so two concurrent dispenses of one pack cannot both pass.
   */
  claimDispense(record: DispenseRecord): Promise<boolean>;
  /** Drops a claim whose dispense was refused or failed. */
  releaseDispense(packKey: string, medicationDispenseId: string): Promise<void>;
  dispensesOfLot(lotKey: string): Promise<DispenseRecord[]>;
  dispensesOfPack(packKey: string): Promise<DispenseRecord[]>;
  recallHandled(recallId: string): Promise<RecallHandled | undefined>;
  saveRecallHandled(record: RecallHandled): Promise<void>;
  /**
   * Runs one pass of the recall follower while no other pass of this member runs, in this process or
   * another sharing the database (on PostgreSQL every process of a member follows): without it two
   * processes would each reach the same patients and report the recall's reach twice.
   */
  followExclusively<T>(pass: () => Promise<T>): Promise<T>;
  /** The last block whose SupplyChain events this node has handled. */
  followCursor(): Promise<number | undefined>;
  saveFollowCursor(block: number): Promise<void>;
  /** Inserts or replaces a capture job by its id. */
  saveCaptureJob(job: CaptureJob): Promise<void>;
  captureJob(captureId: string): Promise<CaptureJob | undefined>;
  /** Jobs in (createdAt, captureID) order, after the given one. */
  captureJobs(
    limit: number,
    after?: { readonly createdAt: string; readonly captureId: string },
  ): Promise<CaptureJob[]>;
}
