/** The opening_deliveries row shape and its mapper, shared by the SQLite and the PostgreSQL store. */
import type { Address, Hex } from 'viem';
import type { QueuedOpeningDelivery } from '../consent/opening-delivery-queue.js';

export interface OpeningDeliveryRow {
  grant_id: Hex;
  member: Address;
  attempts: number;
  next_attempt_at: number;
}

export function toDelivery(row: OpeningDeliveryRow): QueuedOpeningDelivery {
  return {
    grantId: row.grant_id,
    member: row.member,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
  };
}
