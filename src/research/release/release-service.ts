/**
 * Study releases at one member (issue 18 items 3 and 4): admission with reasons, the consent
 * snapshot's plan, the job run by the node's bulk export service, then the manifest sealed (file
 * hashes, counts, profile, consent block) and its hash anchored in the ResearchRegistry.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { BulkExportService, ExportJob, ExportJobStorage, ExportSource } from '../../export/index.js';
import type { DeidProfile } from '../deid-profile.js';
import { parseDeidProfile } from '../parse-deid-profile.js';
import type { Study } from '../study.js';
import type { KRoundPort } from './k-round-client.js';
import { verifyReleaseAdmission } from './release-admission.js';
import { hashDeidProfile, hashReleaseManifest, type ReleaseManifest } from './release-manifest.js';
import { createReleaseManifest } from './release-manifest-builder.js';
import { ReleasePlan } from './release-plan.js';
import type { AnchoredRelease, ReleasePorts } from './release-ports.js';
import type { ReleaseRecord, ReleaseRecordStore } from './release-record-store.js';
import { isResearchContext, type ResearchAccessContext } from './research-export-source.js';
import { deriveStudyKey } from './study-key.js';

export interface ReleaseServiceDeps {
  readonly ports: ReleasePorts;
  readonly records: ReleaseRecordStore;
  /** The bulk service's job storage, read here for a job's state without its owner's token. */
  readonly jobs: Pick<ExportJobStorage, 'get'>;
  /** The consortium research secret (study-key.ts). */
  readonly secret: Uint8Array;
  /** De-identification profiles this member can apply, as JSON (parsed and hashed here). */
  readonly profiles: readonly unknown[];
  /** This member's ledger address (named in the manifest). */
  readonly member: Address;
  /** The node's public base URL (no trailing slash). */
  readonly baseUrl: string;
  /** k across the members holding data (decision 0041); without it, k is this member's alone. */
  readonly kRound?: KRoundPort;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

const ROUND_ID = /^[A-Za-z0-9-]{8,64}$/;

export type ReleaseStatus =
  | { readonly kind: 'running'; readonly progress: string }
  | { readonly kind: 'failed'; readonly outcome: OperationOutcome }
  | { readonly kind: 'expired' }
  | { readonly kind: 'done'; readonly manifest: ReleaseManifest; readonly expiresAt?: string };

/** A release's progress while its k round across the members holding data is undecided. */
const ROUND_PROGRESS = 'deciding k with the other members holding data';

/** How long another process waits for the one that ran a job to seal it before calling it lost. */
const SEAL_GRACE_MS = 5 * 60 * 1000;

export class ReleaseService {
  private bulk: BulkExportService | undefined;
  private source: Pick<ExportSource, 'readPage'> | undefined;
  private readonly plans = new Map<Hex, Promise<ReleasePlan>>();
  private readonly profiles = new Map<Hex, DeidProfile>();
  private readonly finishing = new Map<string, Promise<void>>();
  /** Anchors being sent, by job id (one at a time per release). */
  private readonly anchoring = new Map<string, Promise<ReleaseRecord>>();
  /** Aborted by {@link stop}: a seal waiting for a k round stops waiting. */
  private readonly stopping = new AbortController();
  private readonly now: () => Date;

  constructor(private readonly deps: ReleaseServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    for (const json of deps.profiles) this.profiles.set(hashDeidProfile(json), parseDeidProfile(json));
  }

  /** The node's bulk export service, which runs release jobs (created after the source it reads). */
  attach(bulk: BulkExportService): void {
    this.bulk = bulk;
  }

  private get service(): BulkExportService {
    if (this.bulk === undefined)
      throw new CareLedgerError('ERR_INTERNAL', 'the release service has no bulk export service');
    return this.bulk;
  }

  /** Refusals, each with its reason (release-admission.ts). */
  async admit(studyId: Hex, requester: AccessContext): Promise<{ study: Study; profile: DeidProfile }> {
    const study = await this.deps.ports.study(studyId);
    return verifyReleaseAdmission(study, requester, Math.floor(this.now().getTime() / 1000), this.profiles);
  }

  /**
   * Kick-off: admission, the round, the consent snapshot and its cohort, then a Group-level job of the
   * bulk service. Where more than this member hold data, a release is one round across all of them
   * (decision 0041), so k holds for the union of their files: a kick-off without a round is refused.
   */
  async kickOff(
    studyId: Hex,
    requester: AccessContext,
    requestUrl: string,
    round?: string,
  ): Promise<ExportJob> {
    const { study, profile } = await this.admit(studyId, requester);
    await this.verifyRound(round);
    if (await this.isUnderWay(study.id)) {
      throw new CareLedgerError(
        'ERR_RATE_LIMITED',
        'a release of this study is under way here; wait for it',
        {
          details: { retryAfter: 30 },
        },
      );
    }
    const consentBlock = await this.deps.ports.consentBlock();
    const plan = this.createPlan(study, profile, consentBlock, requester, round);
    this.plans.set(study.id, plan);
    const context: ResearchAccessContext = {
      ...(await plan).context,
      researchStudy: study.id,
      ...(round === undefined ? {} : { researchRound: round }),
    };
    let job: ExportJob;
    try {
      job = await this.service.kickOff(
        {
          level: { kind: 'group', groupId: study.id },
          types: study.resourceTypes,
          typeFilters: {},
          ignored: [],
        },
        requestUrl,
        context,
      );
    } catch (error) {
      this.plans.delete(study.id);
      throw error;
    }
    await this.deps.records.save({
      jobId: job.id,
      studyId: study.id,
      consentBlock: consentBlock.toString(),
      profileHash: study.profileHash,
      createdAt: this.now().toISOString(),
      state: 'running',
      ...(round === undefined ? {} : { round }),
    });
    this.finishing.set(job.id, this.finishWhenDone(job.id));
    if (round !== undefined) this.joinRound(await plan, job);
    return job;
  }

  /** The vault's pages, read as a release reads them (set by the module with the export source). */
  useSource(source: Pick<ExportSource, 'readPage'>): void {
    this.source = source;
  }

  /**
   * Sends this member's k-round entries now, beside the job, not from inside it: a member runs one
   * export job at a time, so a job waiting for a round blocked the jobs queued behind it, and two rounds
   * queued in opposite orders at two members waited for each other until the deadline. The job's
   * first page waits for this decision (it is kept by the plan); a failure fails the job there.
   */
  private joinRound(plan: ReleasePlan, job: ExportJob): void {
    const source = this.source;
    if (source === undefined) return;
    plan.decideK(source, job.transactionTime, this.stopping.signal).catch(() => undefined);
  }

  /** A round's id is well formed and this member takes part in rounds; none is needed with one data member. */
  private async verifyRound(round: string | undefined): Promise<void> {
    const refuse = (reason: string, message: string) =>
      new CareLedgerError('ERR_PRECONDITION_FAILED', `release refused: ${message}`, { details: { reason } });
    if (round !== undefined && !ROUND_ID.test(round))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'round must be 8 to 64 letters, digits or dashes', {
        details: { parameter: 'round' },
      });
    const kRound = this.deps.kRound;
    if (kRound === undefined) {
      if (round !== undefined)
        throw refuse('no-k-round', 'this member takes part in no k round across members');
      return;
    }
    const members = await kRound.dataMembers();
    const alone =
      members.length === 1 && members[0]?.address.toLowerCase() === this.deps.member.toLowerCase();
    if (round === undefined && !alone) {
      throw refuse(
        'round-required',
        `${members.length} members hold data; a release is one round across all of them, started at the research member`,
      );
    }
  }

  private async createPlan(
    study: Study,
    profile: DeidProfile,
    consentBlock: bigint,
    requester: AccessContext,
    round?: string,
  ): Promise<ReleasePlan> {
    const cohort = await this.deps.ports.cohort(study, consentBlock);
    const {
      researchStudy: _marker,
      researchRound: _round,
      ...owner
    } = requester as Partial<ResearchAccessContext> & AccessContext;
    const kRound = this.deps.kRound;
    return new ReleasePlan({
      ...(round === undefined || kRound === undefined
        ? {}
        : {
            round: {
              id: round,
              decide: (entries, signal) => kRound.decide(round, study.id, entries, signal),
            },
          }),
      study,
      profile,
      profileHash: study.profileHash,
      studyKey: deriveStudyKey(this.deps.secret, study.id),
      consentBlock,
      cohort,
      requester: owner,
      asOf: this.now(),
    });
  }

  /** The plan of a study's running release; after a restart, rebuilt from its record at the same block. */
  planFor(studyId: Hex): Promise<ReleasePlan> {
    let plan = this.plans.get(studyId);
    if (plan === undefined) {
      plan = this.rebuildPlan(studyId);
      this.plans.set(studyId, plan);
      plan.catch(() => this.plans.delete(studyId));
    }
    return plan;
  }

  private async rebuildPlan(studyId: Hex): Promise<ReleasePlan> {
    const record = (await this.deps.records.list())
      .filter((r) => r.studyId === studyId && r.state === 'running')
      .at(-1);
    const study = await this.deps.ports.study(studyId);
    const profile =
      study === undefined ? undefined : this.profiles.get(study.profileHash.toLowerCase() as Hex);
    if (record === undefined || study === undefined || profile === undefined) {
      throw new CareLedgerError(
        'ERR_INTERNAL',
        'the release has no record to resume from; kick it off again',
      );
    }
    const job = await this.deps.jobs.get(record.jobId);
    if (job === undefined)
      throw new CareLedgerError('ERR_INTERNAL', 'the release job is gone; kick it off again');
    this.finishing.set(record.jobId, this.finishWhenDone(record.jobId));
    return this.createPlan(study, profile, BigInt(record.consentBlock), job.context, record.round);
  }

  /**
   * Waits for the bulk job to end, then seals and anchors the manifest, in the process that ran it (the
   * plan's counts and contributors are there). `idle` resolves once no job is queued or running, so
   * the job has ended or the service is stopping (then the next start runs it again).
   */
  private async finishWhenDone(jobId: string): Promise<void> {
    await this.service.idle();
    const job = await this.deps.jobs.get(jobId);
    if (job?.status === 'completed') {
      await this.seal(job).catch((error: unknown) => this.recordFailure(jobId, error));
    } else if (job?.status === 'failed' || job?.status === 'expired') {
      await this.recordFailure(jobId, new CareLedgerError('ERR_INTERNAL', `the export job ${job.status}`));
    }
    if (job !== undefined && job.status !== 'accepted' && job.status !== 'in-progress') {
      this.plans.delete(job.request.level.kind === 'group' ? (job.request.level.groupId as Hex) : '0x');
    }
  }

  /**
   * Whether a release of the study is running here: its record says so and its job is queued or
   * running (or finished moments ago and is being sealed). A record left running by a failed job or a
   * restart is marked failed, so it does not block the study for good.
   */
  private async isUnderWay(studyId: Hex): Promise<boolean> {
    for (const record of await this.deps.records.list()) {
      if (record.studyId !== studyId || record.state !== 'running') continue;
      const job = await this.deps.jobs.get(record.jobId);
      if (job?.status === 'accepted' || job?.status === 'in-progress' || this.finishing.has(record.jobId)) {
        return true;
      }
      await this.recordFailure(
        record.jobId,
        new CareLedgerError('ERR_INTERNAL', 'the release was interrupted'),
      );
    }
    return false;
  }

  /**
   * The node is stopping (after the bulk service): a seal still waiting for its k round stops waiting,
   * and its release is recorded failed (a restart could not seal it); the round is kicked off again.
   */
  async stop(): Promise<void> {
    this.stopping.abort(new CareLedgerError('ERR_STORAGE', 'the node is stopping'));
    await Promise.allSettled(this.finishing.values());
  }

  /** Resolves when the release's manifest is sealed and anchored, or has failed (tests, the benchmark). */
  async settled(jobId: string): Promise<void> {
    await this.finishing.get(jobId);
  }

  /** Resolves once the bulk queue is idle and every release it ran here is sealed (tests, the benchmark). */
  async idle(): Promise<void> {
    await this.service.idle();
    await Promise.all(this.finishing.values());
  }

  private async seal(job: ExportJob): Promise<void> {
    const record = await this.deps.records.get(job.id);
    if (record === undefined || record.state !== 'running') return;
    const plan = await this.plans.get(record.studyId);
    if (plan === undefined) throw new CareLedgerError('ERR_INTERNAL', 'the release plan was lost');
    // A member holding none of the cohort read no page: it takes part in the round now.
    await plan.decideKWithoutRecords(job.transactionTime, this.stopping.signal);
    const manifest = await createReleaseManifest({
      job,
      record,
      k: plan.study.k,
      counts: plan.counts(),
      ...(plan.round() === undefined ? {} : { round: plan.round() }),
      member: this.deps.member,
      fileUrl: (name) =>
        `${this.deps.baseUrl}/research/studies/${record.studyId}/$export-file/${job.id}/${name}`,
      openFile: (name) => this.service.openFile(job.id, name, job.context),
    });
    const sealed: ReleaseRecord = {
      ...record,
      state: 'sealed',
      manifest,
      manifestHash: hashReleaseManifest(manifest),
      contributors: plan.contributors(),
    };
    await this.deps.records.save(sealed);
    await this.anchor(sealed);
  }

  /**
   * Anchors a sealed manifest once at a time: a status request while its transaction is being mined
   * waits for it instead of sending another, which ResearchRegistry reverts (ReleaseExists). A failure
   * leaves it sealed, and the next status request tries again.
   */
  private anchor(record: ReleaseRecord): Promise<ReleaseRecord> {
    let anchoring = this.anchoring.get(record.jobId);
    if (anchoring === undefined) {
      anchoring = this.sendAnchor(record).finally(() => this.anchoring.delete(record.jobId));
      this.anchoring.set(record.jobId, anchoring);
    }
    return anchoring;
  }

  private async sendAnchor(record: ReleaseRecord): Promise<ReleaseRecord> {
    const { manifest, manifestHash } = record;
    if (record.state !== 'sealed' || manifest === undefined || manifestHash === undefined) return record;
    // A transaction mined after its sender stopped waiting for the receipt (a loaded chain, another
    // host, a restart) anchored it already; sent again, it would revert (ReleaseExists) at every ask.
    if (!(await this.isAnchoredByThisMember(record))) {
      await this.deps.ports.anchorRelease({
        studyId: record.studyId,
        manifestHash,
        profileHash: record.profileHash,
        consentBlock: BigInt(record.consentBlock),
        records: manifest.extension.counts.records,
        suppressed: manifest.extension.counts.suppressedPatients,
        contributors: record.contributors ?? [],
      });
    }
    const anchored: ReleaseRecord = { ...record, state: 'anchored' };
    await this.deps.records.save(anchored);
    this.log(`research release ${record.jobId} anchored: ${manifest.extension.counts.records} records`);
    return anchored;
  }

  /** Anchored by this member with every contributor credited (the later addContributors mined too). */
  private async isAnchoredByThisMember(record: ReleaseRecord): Promise<boolean> {
    const onChain = await this.deps.ports.release(record.studyId, record.manifestHash as Hex);
    if (onChain?.member?.toLowerCase() !== this.deps.member.toLowerCase()) return false;
    const credited = new Set((record.contributors ?? []).map((a) => a.toLowerCase())).size;
    return onChain.credited === undefined || onChain.credited >= credited;
  }

  private async recordFailure(jobId: string, error: unknown): Promise<void> {
    // Our errors' messages carry no PHI; another error's might, so only its name.
    const reason =
      error instanceof CareLedgerError
        ? `${error.code}: ${error.message}`
        : ((error as Error)?.name ?? 'Error');
    this.log(`research release ${jobId} could not be sealed: ${reason}`);
    const record = await this.deps.records.get(jobId);
    if (record !== undefined && record.state === 'running')
      await this.deps.records.save({ ...record, state: 'failed', failure: reason });
  }

  /** The status of a release for its requester (the bulk job's owner): running, failed, expired or done. */
  async status(studyId: Hex, jobId: string, context: AccessContext): Promise<ReleaseStatus> {
    const job = await this.releaseJob(studyId, jobId, context);
    switch (job.status) {
      case 'accepted':
      case 'in-progress':
        // Its first page waits for the round: say so, not the bulk job's "starting".
        return {
          kind: 'running',
          progress: (await this.isWaitingForRound(studyId)) ? ROUND_PROGRESS : job.progress,
        };
      case 'failed':
        return { kind: 'failed', outcome: job.failure ?? failureOutcome('the release failed') };
      case 'expired':
        return { kind: 'expired' };
      case 'completed':
        break;
    }
    let record = await this.deps.records.get(jobId);
    if (record === undefined) return { kind: 'failed', outcome: failureOutcome('the release has no record') };
    if (record.state === 'failed')
      return { kind: 'failed', outcome: failureOutcome(record.failure ?? 'failed') };
    if (record.state === 'running') {
      // Sealed by the process that ran the job; without it (a restart in between) it cannot be.
      const completed = Date.parse(job.completedAt ?? job.updatedAt);
      if (!this.finishing.has(jobId) && this.now().getTime() - completed > SEAL_GRACE_MS) {
        return {
          kind: 'failed',
          outcome: failureOutcome(
            'the node restarted before the manifest was sealed; kick the release off again',
          ),
        };
      }
      return {
        kind: 'running',
        progress: (await this.isWaitingForRound(studyId)) ? ROUND_PROGRESS : 'sealing the manifest',
      };
    }
    if (record.state === 'sealed') {
      // Its transaction is being mined: answered at once, nothing sent twice.
      if (this.anchoring.has(jobId)) return { kind: 'running', progress: 'anchoring the manifest on chain' };
      try {
        record = await this.anchor(record);
      } catch (error) {
        this.log(
          `research release ${jobId} anchoring failed: ${error instanceof CareLedgerError ? error.code : 'error'}`,
        );
        return { kind: 'running', progress: 'anchoring the manifest on chain' };
      }
    }
    return {
      kind: 'done',
      manifest: record.manifest as ReleaseManifest,
      ...(job.expiresAt === undefined ? {} : { expiresAt: job.expiresAt }),
    };
  }

  /** Whether this process's release of the study waits for its k round to be decided. */
  private async isWaitingForRound(studyId: Hex): Promise<boolean> {
    const plan = await this.plans.get(studyId)?.catch(() => undefined);
    return plan?.isWaitingForRound() === true;
  }

  /** A file of a finished release, for its requester: plaintext NDJSON frames. */
  async openFile(
    studyId: Hex,
    jobId: string,
    fileName: string,
    context: AccessContext,
  ): Promise<AsyncGenerator<Uint8Array>> {
    await this.releaseJob(studyId, jobId, context);
    return this.service.openFile(jobId, fileName, context);
  }

  /** The anchored release of a manifest hash (for `careledger research verify --node`). */
  release(studyId: Hex, manifestHash: Hex): Promise<AnchoredRelease | undefined> {
    return this.deps.ports.release(studyId, manifestHash);
  }

  /** The job, for its owner, if it is a release of this study; ERR_NOT_FOUND otherwise. */
  private async releaseJob(studyId: Hex, jobId: string, context: AccessContext): Promise<ExportJob> {
    const job = await this.service.job(jobId, context);
    const level = job.request.level;
    const ofStudy = level.kind === 'group' && level.groupId.toLowerCase() === studyId.toLowerCase();
    if (!ofStudy || !isResearchContext(job.context)) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such export job');
    }
    return job;
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }
}

function failureOutcome(diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics }] };
}
