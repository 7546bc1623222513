import { randomBytes, randomUUID } from 'node:crypto';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { createOperationOutcomeFromError } from '../fhir/operation-outcome.js';
import { createFolderExportFileStore, type ExportFileStore } from './export-file-store.js';
import type { ExportFile, ExportJob, ExportJobStorage, ExportRequest, JobKeySealer } from './export-job.js';
import type { ExportSource } from './export-source.js';
import { readSealedNdjson, SealedNdjsonWriter } from './sealed-ndjson-file.js';

export interface BulkExportServiceOptions {
  readonly storage: ExportJobStorage;
  readonly source: ExportSource;
  readonly keys: JobKeySealer;
  /** The folder the sealed export files are written to (one sub-folder per job), unless `files` is given. */
  readonly dir: string;
  /** Where the sealed files live; default: the folder `dir` (decision 0033: the database on PostgreSQL). */
  readonly files?: ExportFileStore;
  /** The resource types the node serves: a request without `_type` exports those in the token's scope. */
  readonly resourceTypes: readonly string[];
  readonly now?: () => Date;
  readonly newId?: () => string;
  readonly random?: (size: number) => Uint8Array;
  /** How long a finished job's files are kept (default 24 h). */
  readonly fileTtlMs?: number;
  /** Stored resources examined per page (default 200): the memory bound of a running export. */
  readonly pageSize?: number;
  /** Resources per output file before the next file of the type starts (default 100,000). */
  readonly maxResourcesPerFile?: number;
  /** Patients per page of a Group or `patient=` export (default 100). */
  readonly patientsPerPage?: number;
  /** Runs of one job (restarts included) before it is marked failed (default 3). */
  readonly maxAttempts?: number;
  /** Jobs one requester may have queued or running at once; more are refused with 429 (default 5). */
  readonly maxActiveJobsPerRequester?: number;
  readonly log?: (line: string) => void;
}

/** The owner of a job: only the requester who kicked it off (same person, same client) polls, downloads or deletes it. */
function ownerOf(context: AccessContext): string {
  return `${context.who}\n${context.clientId ?? ''}`;
}

/** The AuditEvent entity of an export: its level and its job id. */
export function exportEntity(request: ExportRequest, jobId: string): string {
  const level =
    request.level.kind === 'system'
      ? '$export'
      : request.level.kind === 'patient'
        ? 'Patient/$export'
        : `Group/${request.level.groupId}/$export`;
  return `${level}/${jobId}`;
}

const ERROR_FILE = 'errors.ndjson';
const CONSENT_WITHDRAWN = 'consent withdrawn after the export';

/**
 * FHIR Bulk Data v2 export jobs: kick-off, a queue run one job at a time in the background, status,
 * sealed NDJSON files, deletion and expiry. Jobs live in storage, so a restart resumes them: a job
 * that was running is run again from the start (its partial files are discarded), up to
 * `maxAttempts`, then marked failed with the reason.
 */
export class BulkExportService {
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly random: (size: number) => Uint8Array;
  private readonly fileTtlMs: number;
  private readonly pageSize: number;
  private readonly maxPerFile: number;
  private readonly patientsPerPage: number;
  private readonly maxAttempts: number;
  private readonly queue: string[] = [];
  private running: { readonly id: string; readonly abort: AbortController; done: Promise<void> } | undefined;
  private started = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  private readonly files: ExportFileStore;

  constructor(private readonly options: BulkExportServiceOptions) {
    this.files = options.files ?? createFolderExportFileStore(options.dir);
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.random = options.random ?? ((size) => new Uint8Array(randomBytes(size)));
    this.fileTtlMs = options.fileTtlMs ?? 24 * 3600 * 1000;
    this.pageSize = options.pageSize ?? 200;
    this.maxPerFile = options.maxResourcesPerFile ?? 100_000;
    this.patientsPerPage = options.patientsPerPage ?? 100;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /**
   * Kick-off: admits the requester for the types (audited refusal), reads the Group's members for a
   * Group export, stores the job and queues it. Resolves with the stored job.
   */
  async kickOff(request: ExportRequest, requestUrl: string, context: AccessContext): Promise<ExportJob> {
    const active = (await this.options.storage.listByStatus(['accepted', 'in-progress'])).filter(
      (j) => ownerOf(j.context) === ownerOf(context),
    );
    if (active.length >= (this.options.maxActiveJobsPerRequester ?? 5)) {
      // export.html#response---error: a server may refuse a kick-off with 429 while others run.
      throw new CareLedgerError(
        'ERR_RATE_LIMITED',
        'too many export jobs under way; wait for one to finish',
        {
          details: { retryAfter: 60 },
        },
      );
    }
    const id = this.newId();
    const entity = exportEntity(request, id);
    const types =
      request.types ?? this.options.resourceTypes.filter((t) => this.options.source.inScope(context, t));
    if (types.length === 0) {
      throw new CareLedgerError('ERR_FORBIDDEN', 'the access token reaches no resource type', {
        details: { oauth: 'insufficient_scope' },
      });
    }
    await this.options.source.admit(context, types, entity);
    let patientIds: string[] | undefined;
    if (request.level.kind === 'group') {
      const group = await this.options.source.readGroup(context, request.level.groupId);
      const members = new Set<string>();
      for (const member of group.member ?? []) {
        const reference = member.entity?.reference ?? '';
        if (member.inactive === true || !reference.startsWith('Patient/')) continue;
        members.add(reference.slice('Patient/'.length));
      }
      patientIds =
        request.patients === undefined ? [...members] : request.patients.filter((p) => members.has(p));
    }
    const key = this.random(32);
    const at = this.now().toISOString();
    const job: ExportJob = {
      id,
      status: 'accepted',
      request: { ...request, types },
      requestUrl,
      context,
      ...(patientIds === undefined ? {} : { patientIds }),
      transactionTime: at,
      createdAt: at,
      updatedAt: at,
      progress: 'queued',
      sealedKey: await this.options.keys.seal(id, key),
      output: [],
      errors: [],
      attempts: 0,
    };
    await this.options.storage.insert(job);
    this.enqueue(id);
    return job;
  }

  /** The job, for its owner; ERR_NOT_FOUND for anyone else (a job's existence is not told to others). */
  async job(id: string, context: AccessContext): Promise<ExportJob> {
    const job = await this.options.storage.get(id);
    if (job === undefined || ownerOf(job.context) !== ownerOf(context))
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such export job');
    return job;
  }

  /** DELETE of a job (export.html#delete-a-bulk-data-request): stops it if running, removes it and its files. */
  async cancel(id: string, context: AccessContext): Promise<void> {
    await this.job(id, context);
    const index = this.queue.indexOf(id);
    if (index >= 0) this.queue.splice(index, 1);
    if (this.running?.id === id) {
      this.running.abort.abort(new CareLedgerError('ERR_GONE', 'the export job was deleted'));
      await this.running.done;
    }
    await this.options.storage.delete(id);
    await this.removeFiles(id);
  }

  /** A completed job's file, opened frame by frame: plaintext NDJSON chunks for the download. */
  async openFile(id: string, fileName: string, context: AccessContext): Promise<AsyncGenerator<Uint8Array>> {
    const job = await this.job(id, context);
    if (job.status === 'expired') throw new CareLedgerError('ERR_GONE', 'the export files have expired');
    const file = [...job.output, ...job.errors].find((f) => f.fileName === fileName);
    if (job.status !== 'completed' || file === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such export file');
    const withdrawn = await this.withdrawnPatients(job, file);
    if (withdrawn.length > 0) {
      // Security review F12: the patient took back the grant after the export; the file is not
      // disclosed now (the refusal shows in the patient's history, as a refused search does).
      await this.options.source.recordExport(
        context,
        exportEntity(job.request, job.id),
        withdrawn.map((patientId) => ({ patientId, breakGlass: false, denied: CONSENT_WITHDRAWN })),
      );
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'a patient in this file no longer grants this member access to it; kick off a new export',
        { details: { reason: CONSENT_WITHDRAWN } },
      );
    }
    const key = await this.options.keys.open(job.id, job.sealedKey);
    return readSealedNdjson(this.files.frames(job.id, file.fileName), key, { jobId: job.id, fileName });
  }

  /**
   * A completed job's files as its requester may still be told of them: for another member, a file
   * holding a patient who no longer grants it the file's type is left out (see `openFile`).
   */
  async disclosedOutput(job: ExportJob): Promise<readonly ExportFile[]> {
    const kept: ExportFile[] = [];
    for (const file of job.output)
      if ((await this.withdrawnPatients(job, file)).length === 0) kept.push(file);
    return kept;
  }

  /** The file's patients whose grant to the job's member requester is no longer in force. */
  private async withdrawnPatients(job: ExportJob, file: ExportFile): Promise<readonly string[]> {
    if (job.context.member === undefined || file.fileName === ERROR_FILE) return [];
    if (file.patients === undefined) return [];
    return this.options.source.withdrawn(
      job.context,
      file.type,
      file.patients.filter((p) => p !== ''),
    );
  }

  /**
   * Starts the queue: jobs interrupted by a stop or crash are queued again (or failed after
   * `maxAttempts` runs), then every accepted job is queued; expired files are swept now and periodically.
   * `recover: false` (a member's worker processes, decision 0014) runs the jobs kicked off here only:
   * recovery and sweeps are the primary's, so no interrupted job is run by two processes.
   */
  async start(options: { recover?: boolean } = {}): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (options.recover === false) return;
    for (const job of await this.options.storage.listByStatus(['in-progress'])) {
      if (job.attempts >= this.maxAttempts) {
        await this.fail(
          job.id,
          new CareLedgerError(
            'ERR_INTERNAL',
            `the export was interrupted ${job.attempts} times (node restarts) and was given up`,
          ),
        );
      } else {
        this.log(`export job ${job.id} was interrupted; it runs again`);
        await this.options.storage.update(job.id, {
          status: 'accepted',
          progress: 'queued again after a restart',
          updatedAt: this.now().toISOString(),
        });
      }
    }
    for (const job of await this.options.storage.listByStatus(['accepted'])) this.enqueue(job.id);
    await this.sweepExpired();
    this.sweepTimer = setInterval(
      () =>
        void this.sweepExpired().catch((e: unknown) =>
          this.log(`export sweep failed: ${(e as Error).message}`),
        ),
      Math.min(this.fileTtlMs, 10 * 60 * 1000),
    );
    this.sweepTimer.unref();
  }

  /** Stops the running job (it stays in progress, to be run again at the next start) and the sweeps. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.queue.length = 0;
    const running = this.running;
    if (running !== undefined) {
      running.abort.abort(new CareLedgerError('ERR_STORAGE', 'the node is stopping'));
      await running.done;
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves once no job is queued or running (tests and the benchmark wait on it instead of sleeping). */
  idle(): Promise<void> {
    if (this.running === undefined && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deletes the files of jobs past their expiry and marks the jobs expired. */
  async sweepExpired(): Promise<number> {
    const expired = await this.options.storage.listExpired(this.now().toISOString());
    for (const job of expired) {
      await this.removeFiles(job.id);
      await this.options.storage.update(job.id, {
        status: 'expired',
        progress: 'expired',
        updatedAt: this.now().toISOString(),
      });
    }
    return expired.length;
  }

  private enqueue(id: string): void {
    if (!this.queue.includes(id)) this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    if (!this.started || this.running !== undefined) return;
    const id = this.queue.shift();
    if (id === undefined) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    const abort = new AbortController();
    const running = { id, abort, done: Promise.resolve() };
    this.running = running;
    running.done = this.runJob(id, abort.signal)
      .catch((error: unknown) => this.log(`export job failed to record its end: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
  }

  private async runJob(id: string, signal: AbortSignal): Promise<void> {
    const job = await this.options.storage.get(id);
    if (job === undefined || job.status !== 'accepted') return;
    await this.options.storage.update(id, {
      status: 'in-progress',
      attempts: job.attempts + 1,
      progress: 'starting',
      updatedAt: this.now().toISOString(),
    });
    try {
      const { output, errors } = await this.export(job, signal);
      const at = this.now();
      this.log(
        `export job ${id} completed: ${output.reduce((n, f) => n + f.count, 0)} resources in ${output.length} files`,
      );
      await this.options.storage.update(id, {
        status: 'completed',
        output,
        errors,
        progress: 'completed',
        updatedAt: at.toISOString(),
        completedAt: at.toISOString(),
        expiresAt: new Date(at.getTime() + this.fileTtlMs).toISOString(),
      });
    } catch (error) {
      if (signal.aborted) {
        // Deleted: the caller removes the row and files. Stopping: the job stays in progress.
        return;
      }
      // Our errors' messages hold no PHI; another error's message might quote data, so only its name.
      this.log(
        `export job ${id} failed: ${error instanceof CareLedgerError ? `${error.code}: ${error.message}` : (error as Error)?.name}`,
      );
      await this.removeFiles(id);
      await this.fail(id, error);
    }
  }

  private async fail(id: string, error: unknown): Promise<void> {
    const at = this.now();
    const failure: OperationOutcome = createOperationOutcomeFromError(error);
    await this.options.storage.update(id, {
      status: 'failed',
      failure,
      progress: 'failed',
      updatedAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + this.fileTtlMs).toISOString(),
    });
  }

  /** Writes the job's files type by type, page by page; audits each exported patient once at the end. */
  private async export(
    job: ExportJob,
    signal: AbortSignal,
  ): Promise<{ output: ExportFile[]; errors: ExportFile[] }> {
    const key = await this.options.keys.open(job.id, job.sealedKey);
    await this.files.prepare(job.id);
    const types = job.request.types ?? [];
    const patientScopes = this.patientScopes(job);
    const exported = new Map<string, boolean>();
    const refused = new Map<string, string>();
    const output: ExportFile[] = [];
    const issues: OperationOutcome[] = job.request.ignored.map((name) => ({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'information',
          code: 'not-supported',
          diagnostics: `the kick-off parameter ${name} was ignored (Prefer: handling=lenient)`,
        },
      ],
    }));
    let total = 0;
    let lastProgress = Number.NEGATIVE_INFINITY;
    const openWriters: SealedNdjsonWriter[] = [];
    const newFile = async (fileName: string) => {
      const writer = await SealedNdjsonWriter.create(
        await this.files.create(job.id, fileName),
        key,
        { jobId: job.id, fileName },
        this.random,
      );
      openWriters.push(writer);
      return writer;
    };
    try {
      for (const [typeIndex, type] of types.entries()) {
        let writer: SealedNdjsonWriter | undefined;
        let fileName = '';
        let files = 0;
        // Another member's access hangs on each patient's grant: its files name their compartments.
        const filePatients = job.context.member === undefined ? undefined : new Set<string>();
        const closeFile = async () => {
          if (writer === undefined) return;
          await writer.close();
          output.push({
            type,
            fileName,
            count: writer.count,
            ...(filePatients === undefined ? {} : { patients: [...filePatients].sort() }),
          });
          filePatients?.clear();
          writer = undefined;
        };
        for (const patients of patientScopes) {
          let after: string | undefined;
          do {
            if (signal.aborted) throw signal.reason;
            const page = await this.options.source.readPage(job.context, {
              resourceType: type,
              filters: job.request.typeFilters[type] ?? [],
              ...(job.request.since === undefined ? {} : { since: job.request.since }),
              until: job.transactionTime,
              ...(patients === undefined ? {} : { patients }),
              ...(after === undefined ? {} : { after }),
              limit: this.pageSize,
              signal,
            });
            for (const { patientId, reason } of page.refused ?? [])
              if (!refused.has(patientId)) refused.set(patientId, reason);
            for (const skipped of page.skipped ?? []) {
              issues.push({
                resourceType: 'OperationOutcome',
                issue: [
                  {
                    severity: 'error',
                    code: 'exception',
                    diagnostics: `${skipped.resourceType}/${skipped.id} was left out: ${skipped.reason}`,
                  },
                ],
              });
            }
            let rest = page.resources;
            while (rest.length > 0) {
              if (writer === undefined) {
                files++;
                fileName = `${type}-${files}.ndjson`;
                writer = await newFile(fileName);
              }
              const part = rest.slice(0, this.maxPerFile - writer.count);
              rest = rest.slice(part.length);
              await writer.append(part.map((r) => r.json ?? JSON.stringify(r.resource)));
              for (const r of part) filePatients?.add(r.patientId);
              if (writer.count >= this.maxPerFile) await closeFile();
            }
            for (const r of page.resources) {
              if (r.patientId !== '')
                exported.set(r.patientId, (exported.get(r.patientId) ?? false) || r.breakGlass);
            }
            total += page.resources.length;
            after = page.next;
            // At most one progress write a second: each is a durable commit.
            if (performance.now() - lastProgress >= 1000) {
              lastProgress = performance.now();
              await this.options.storage.update(job.id, {
                progress: `${type} (${typeIndex + 1} of ${types.length} types), ${total} resources`,
                updatedAt: this.now().toISOString(),
              });
            }
          } while (after !== undefined);
        }
        await closeFile();
      }
      const errors: ExportFile[] = [];
      if (issues.length > 0) {
        const writer = await newFile(ERROR_FILE);
        await writer.append(issues.map((o) => JSON.stringify(o)));
        await writer.close();
        errors.push({ type: 'OperationOutcome', fileName: ERROR_FILE, count: writer.count });
      }
      if (signal.aborted) throw signal.reason;
      // IHE BALP: one AuditEvent per patient whose data leaves in this export, naming the job; for
      // another member, a denial for each patient it was refused everything of (as a search records).
      const patients: { patientId: string; breakGlass: boolean; denied?: string }[] = [
        ...[...exported].map(([patientId, breakGlass]) => ({ patientId, breakGlass })),
        ...[...refused]
          .filter(([patientId]) => !exported.has(patientId))
          .map(([patientId, denied]) => ({ patientId, breakGlass: false, denied })),
      ];
      for (let i = 0; i < patients.length; i += 500) {
        await this.options.source.recordExport(
          job.context,
          exportEntity(job.request, job.id),
          patients.slice(i, i + 500),
        );
      }
      return { output, errors };
    } finally {
      for (const writer of openWriters) await writer.abandon();
    }
  }

  /** The patient filter of each pass over a type: all records, any patient's, or pages of named patients. */
  private patientScopes(job: ExportJob): (readonly string[] | 'any' | undefined)[] {
    const named = job.patientIds ?? job.request.patients;
    if (named !== undefined) {
      const pages: string[][] = [];
      const sorted = [...named].sort();
      for (let i = 0; i < sorted.length; i += this.patientsPerPage)
        pages.push(sorted.slice(i, i + this.patientsPerPage));
      return pages;
    }
    return [job.request.level.kind === 'system' ? undefined : 'any'];
  }

  private async removeFiles(id: string): Promise<void> {
    await this.files.remove(id);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
