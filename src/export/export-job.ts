import type { OperationOutcome } from '@medplum/fhirtypes';
import type { AccessContext } from '../audit/create-audit-event.js';

/** Bulk Data v2 kick-off levels (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#endpoint). */
export type ExportLevel =
  | { readonly kind: 'system' }
  | { readonly kind: 'patient' }
  | { readonly kind: 'group'; readonly groupId: string };

/** A kick-off request, checked (parseExportRequest). */
export interface ExportRequest {
  readonly level: ExportLevel;
  /** `_type`: the resource types to export; undefined for every type the requester may read. */
  readonly types?: readonly string[];
  /** `_since`: only resources updated after this FHIR instant. */
  readonly since?: string;
  /** `_typeFilter`: per type, FHIR search queries of which a resource must match one. */
  readonly typeFilters: Readonly<Record<string, readonly string[]>>;
  /** `patient` (POST kick-off, Patient and Group level): only these patients' compartments. */
  readonly patients?: readonly string[];
  /** Parameters ignored under `Prefer: handling=lenient` (named in the manifest's error file). */
  readonly ignored: readonly string[];
}

export type ExportJobStatus = 'accepted' | 'in-progress' | 'completed' | 'failed' | 'expired';

/** One output file of a completed job (manifest `output[]` / `error[]`). */
export interface ExportFile {
  readonly type: string;
  readonly fileName: string;
  readonly count: number;
  /**
   * For another member's job only: the compartments (patient ids) the file holds records of, so a
   * download re-judges them against the consent in force then (security review F12).
   */
  readonly patients?: readonly string[];
}

/** A job as stored: identifiers, times and counts in the clear; no PHI (the files are sealed). */
export interface ExportJob {
  readonly id: string;
  readonly status: ExportJobStatus;
  readonly request: ExportRequest;
  /** The kick-off URL as the client sent it (manifest `request`). */
  readonly requestUrl: string;
  /** Who asked: every access decision of the run is made for this requester, as for a search. */
  readonly context: AccessContext;
  /** Group level: the Patient ids of the Group's members, read at kick-off through the gateway. */
  readonly patientIds?: readonly string[];
  /** FHIR instant: resources updated after it are left out (manifest `transactionTime`). */
  readonly transactionTime: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly completedAt?: string;
  /** When the files are deleted. */
  readonly expiresAt?: string;
  /** The X-Progress text while running. */
  readonly progress: string;
  /** The per-job file key, sealed under the node key (JobKeySealer). */
  readonly sealedKey: string;
  readonly output: readonly ExportFile[];
  readonly errors: readonly ExportFile[];
  /** Why the job failed (answered with a 500 status). */
  readonly failure?: OperationOutcome;
  /** Runs started: a job interrupted by a restart is run again from the start, up to a limit. */
  readonly attempts: number;
}

/** What the export module needs from storage (SQLite: src/storage/sqlite/sqlite-export-job-storage.ts). */
export interface ExportJobStorage {
  insert(job: ExportJob): Promise<void>;
  get(id: string): Promise<ExportJob | undefined>;
  update(
    id: string,
    patch: Partial<Omit<ExportJob, 'id' | 'request' | 'context' | 'createdAt'>>,
  ): Promise<void>;
  delete(id: string): Promise<void>;
  /** Jobs in these states, oldest first. */
  listByStatus(statuses: readonly ExportJobStatus[]): Promise<ExportJob[]>;
  /** Completed jobs whose files expire at or before `now` (FHIR instant). */
  listExpired(now: string): Promise<ExportJob[]>;
}

/** Seals a job's file key under the node key, bound to the job id, and opens it again. */
export interface JobKeySealer {
  seal(jobId: string, key: Uint8Array): Promise<string>;
  open(jobId: string, sealed: string): Promise<Uint8Array>;
}
