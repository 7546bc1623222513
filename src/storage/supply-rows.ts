/**
 * The supply tables' row shapes and their mappers (decision 0023), shared by the SQLite and the
 * PostgreSQL supply store: both adapters keep the same columns, so a row reads the same from either.
 */
import type {
  CaptureJob,
  DispenseRecord,
  EpcRole,
  RecallHandled,
  StoredEpcisEvent,
} from '../supply/storage/supply-store.js';

export interface EpcisEventRow {
  event_hash: string;
  event_id: string | null;
  event_type: string;
  event_time: string;
  record_time: string;
  action: string | null;
  biz_step: string | null;
  disposition: string | null;
  biz_location: string | null;
  read_point: string | null;
  log_index: number;
  json: string;
}

export interface EpcisEventEpcRow {
  role: EpcRole;
  epc: string;
}

export interface DispenseRow {
  pack_key: string;
  lot_key: string;
  medication_dispense_id: string;
  patient_id: string;
  prescriber: string | null;
  dispensed_at: string;
  /** 'MedicationDispense' or 'Device' (an implanted device, issue 19 item 7). */
  resource_type: string;
}

export interface RecallHandledRow {
  recall_id: string;
  patients: number;
  handled_at: string;
}

/** An EPCIS capture job: booleans are INTEGER 0/1 in SQLite, BOOLEAN in PostgreSQL. */
export interface CaptureJobRow {
  capture_id: string;
  created_at: string;
  finished_at: string | null;
  running: number | boolean;
  success: number | boolean;
  error_behaviour: string;
  event_ids: string;
  errors: string;
}

/**
 * The job's column values in the INSERT's order (capture_id ... errors). Booleans as 1/0: SQLite has
 * no boolean, and PostgreSQL reads '1'/'0' as a boolean.
 */
export function captureJobColumnValues(job: CaptureJob): unknown[] {
  return [
    job.captureID,
    job.createdAt,
    job.finishedAt ?? null,
    job.running ? 1 : 0,
    job.success ? 1 : 0,
    job.captureErrorBehaviour,
    JSON.stringify(job.eventIDs),
    JSON.stringify(job.errors),
  ];
}

export function toCaptureJob(row: CaptureJobRow): CaptureJob {
  return {
    captureID: row.capture_id,
    createdAt: row.created_at,
    ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
    running: row.running === 1 || row.running === true,
    success: row.success === 1 || row.success === true,
    captureErrorBehaviour: row.error_behaviour === 'proceed' ? 'proceed' : 'rollback',
    eventIDs: JSON.parse(row.event_ids) as string[],
    errors: JSON.parse(row.errors) as CaptureJob['errors'],
  };
}

/** The event's column values in the INSERT's order (event_hash ... json). */
export function eventColumnValues(event: StoredEpcisEvent): unknown[] {
  return [
    event.eventHash,
    event.eventId ?? null,
    event.eventType,
    event.eventTime,
    event.recordTime,
    event.action ?? null,
    event.bizStep ?? null,
    event.disposition ?? null,
    event.bizLocation ?? null,
    event.readPoint ?? null,
    event.logIndex,
    event.json,
  ];
}

/** The dispense's column values in the INSERT's order (pack_key ... dispensed_at, resource_type). */
export function dispenseColumnValues(record: DispenseRecord): unknown[] {
  return [
    record.packKey,
    record.lotKey,
    record.medicationDispenseId,
    record.patientId,
    record.prescriber ?? null,
    record.dispensedAt,
    record.resourceType ?? 'MedicationDispense',
  ];
}

/** An event row and its EPCs (in the order the event named them) as the domain's value. */
export function toStoredEvent(row: EpcisEventRow, epcs: readonly EpcisEventEpcRow[]): StoredEpcisEvent {
  return {
    eventHash: row.event_hash,
    ...(row.event_id === null ? {} : { eventId: row.event_id }),
    eventType: row.event_type,
    eventTime: row.event_time,
    recordTime: row.record_time,
    ...(row.action === null ? {} : { action: row.action }),
    ...(row.biz_step === null ? {} : { bizStep: row.biz_step }),
    ...(row.disposition === null ? {} : { disposition: row.disposition }),
    ...(row.biz_location === null ? {} : { bizLocation: row.biz_location }),
    ...(row.read_point === null ? {} : { readPoint: row.read_point }),
    epcs: epcs.map((e) => ({ role: e.role, epc: e.epc })),
    logIndex: row.log_index,
    json: row.json,
  };
}

export function toDispense(row: DispenseRow): DispenseRecord {
  return {
    packKey: row.pack_key,
    lotKey: row.lot_key,
    medicationDispenseId: row.medication_dispense_id,
    patientId: row.patient_id,
    ...(row.prescriber === null ? {} : { prescriber: row.prescriber }),
    dispensedAt: row.dispensed_at,
    // Absent for a MedicationDispense, as the domain value has it.
    ...(row.resource_type === 'Device' ? { resourceType: 'Device' as const } : {}),
  };
}

export function toRecallHandled(row: RecallHandledRow): RecallHandled {
  return { recallId: row.recall_id, patients: row.patients, handledAt: row.handled_at };
}
