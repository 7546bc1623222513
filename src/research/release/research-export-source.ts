/**
 * The bulk export's source with study releases in it. The node keeps one Bulk Data job system
 * (src/export: durable jobs, queue, restart recovery, sealed NDJSON files, status, download, expiry,
 * per-patient audit); a study release is one of its Group-level jobs whose requester context is
 * marked with the study ({@link ResearchAccessContext}). For those, every page still comes from the
 * vault's access-checked gateway (the fallback source), and then passes the release plan: consented
 * cohort only, in scope, k-anonymous, de-identified. Any other job reads the vault unchanged.
 */
import type { Group } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { ExportPage, ExportPageRequest, ExportSource } from '../../export/index.js';
import { untilAborted } from './k-round-client.js';
import type { ReleasePlan } from './release-plan.js';

/** A requester context as stored with a study release job: the study it releases for. */
export interface ResearchAccessContext extends AccessContext {
  readonly researchStudy: Hex;
  /** The k round across members (decision 0041), when there is one. */
  readonly researchRound?: string;
}

export function isResearchContext(context: AccessContext): context is ResearchAccessContext {
  return typeof (context as Partial<ResearchAccessContext>).researchStudy === 'string';
}

/** The AuditEvent entity of a release: the study (its id without 0x, a FHIR id) and the job. */
export function releaseEntity(studyId: Hex, jobId: string): string {
  return `ResearchStudy/${studyId.slice(2)}/$export/${jobId}`;
}

/** The job id at the end of the bulk service's entity (`Group/<study>/$export/<job>`). */
function jobOfEntity(entity: string): string {
  return entity.slice(entity.lastIndexOf('/') + 1);
}

export interface ResearchExportSourceDeps {
  /** The vault's gateway as an export source (createVaultExportSource). */
  readonly vault: ExportSource;
  /** The plan of the study's running release; rebuilt from its stored record after a restart. */
  readonly planFor: (studyId: Hex) => Promise<ReleasePlan>;
}

export function createResearchExportSource(deps: ResearchExportSourceDeps): ExportSource {
  const { vault } = deps;
  return {
    admit: (context, types, entity) =>
      isResearchContext(context)
        ? vault.admit(context, types, releaseEntity(context.researchStudy, jobOfEntity(entity)))
        : vault.admit(context, types, entity),
    inScope: (context, type) => vault.inScope(context, type),
    async readPage(context: AccessContext, request: ExportPageRequest): Promise<ExportPage> {
      if (!isResearchContext(context)) return vault.readPage(context, request);
      // A release reads named patients only: the consent snapshot's cohort, never "any" or all.
      if (!Array.isArray(request.patients)) {
        throw new CareLedgerError('ERR_INTERNAL', 'a study release reads its cohort only');
      }
      const plan = await deps.planFor(context.researchStudy);
      // Begun at kick-off where there is a round (release-service.ts joinRound); the job still stops.
      await untilAborted(plan.decideK(vault, request.until, request.signal), request.signal);
      return plan.transformPage(await plan.readConsented(vault, request));
    },
    async recordExport(context, entity, patients) {
      if (!isResearchContext(context)) return vault.recordExport(context, entity, patients);
      await vault.recordExport(context, releaseEntity(context.researchStudy, jobOfEntity(entity)), patients);
    },
    // A release's cohort is its consent snapshot (decided per release); an ordinary export re-judges.
    withdrawn: (context, type, patientIds) =>
      isResearchContext(context) ? Promise.resolve([]) : vault.withdrawn(context, type, patientIds),
    async readGroup(context: AccessContext, groupId: string): Promise<Group> {
      if (!isResearchContext(context)) return vault.readGroup(context, groupId);
      const plan = await deps.planFor(context.researchStudy);
      return {
        resourceType: 'Group',
        type: 'person',
        actual: true,
        member: plan.patientIds().map((id) => ({ entity: { reference: `Patient/${id}` } })),
      };
    },
  };
}
