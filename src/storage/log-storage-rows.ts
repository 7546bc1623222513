/** The log storage's rows and their mapping to the domain, shared by the SQLite and PostgreSQL adapters. */
import { CareLedgerError } from '../errors/index.js';
import type { StoredCheckpoint, WitnessLogState } from '../log/log-storage.js';

export interface CheckpointRow {
  size: number;
  root_hash: Buffer;
  note: string;
  cosigned_note: string | null;
  created_at: number;
}

export interface WitnessRow {
  origin: string;
  size: number;
  root_hash: Buffer;
  checkpoint: string;
  updated_at: number;
}

export const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function checkpointFromRow(row: CheckpointRow): StoredCheckpoint {
  const base = { size: row.size, rootHash: bytes(row.root_hash), note: row.note, time: row.created_at };
  return row.cosigned_note === null ? base : { ...base, cosignedNote: row.cosigned_note };
}

export function witnessFromRow(row: WitnessRow): WitnessLogState {
  return {
    origin: row.origin,
    size: row.size,
    rootHash: bytes(row.root_hash),
    checkpoint: row.checkpoint,
    time: row.updated_at,
  };
}

export function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new CareLedgerError('ERR_STORAGE', 'invalid read range', { details: { reason: 'range' } });
  }
}
