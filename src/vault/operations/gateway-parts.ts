import type { AccessGate } from '../access-gate.js';
import type { SealedRecordStore } from '../sealed-record-store.js';

/**
 * What an operation module gets from the gateway (FhirRepository): the access gate every request
 * passes (admit, decide, refuse) and the sealed store it reads and audits through. An operation has
 * no other way to a record.
 */
export interface GatewayParts {
  readonly store: SealedRecordStore;
  readonly gate: AccessGate;
}
