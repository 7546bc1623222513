import type { Resource } from '@medplum/fhirtypes';
import { evaluateTokenScopes, type Requester } from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { matchesSearch, planSearch, type SearchPlan } from '../fhir/search/index.js';
import type { ValueSetLookup } from '../fhir/terminology/index.js';
import type { AccessGate, AddressMemo, VisibleCompartments } from './access-gate.js';
import type { SearchScope } from './operations/search-scope.js';
import { loadValueSetLookup, valueSetCanonicals } from './operations/search-value-sets.js';
import type { StoredVersion } from './record-storage.js';
import type { SealedRecordStore } from './sealed-record-store.js';

/** A page of a bulk read: one type's current records in keyset order (see RecordStorage.pageCurrent). */
export interface BulkPageRequest {
  readonly resourceType: string;
  /** Search queries (a bulk export's `_typeFilter`): a resource must match one; empty: every resource. */
  readonly filters: readonly string[];
  readonly since?: string;
  readonly until?: string;
  readonly patients?: readonly string[] | 'any';
  /** The cursor of the previous page. */
  readonly after?: string;
  readonly limit: number;
}

export interface BulkPage {
  readonly resources: readonly {
    resource: Resource;
    /** The resource's JSON when it is served exactly as stored (its stored canonical text). */
    json?: string;
    patientId: string;
    breakGlass: boolean;
  }[];
  readonly next?: string;
  readonly skipped: readonly { resourceType: string; id: string; reason: string }[];
  /**
   * For another member: patients with a resource the policy refused, and why (the first reason). As
   * for a refused search, the patient's own history shows the refused attempt.
   */
  readonly refused: readonly { patientId: string; reason: string }[];
}

/**
 * How long the compartments an export's requester may see are reused across its pages. They are a
 * bound taken before any record is opened, not the decision: every record is still judged with the
 * consent in force when it is read (`decide`), so a grant revoked meanwhile still refuses its records,
 * and one given meanwhile counts from the next recomputation.
 */
const VISIBLE_REUSE_MS = 60_000;

/** Why another member's export left out a patient it holds no grant from (no record was opened). */
const NOT_VISIBLE = 'no consent in force for this member, purpose and data';

/** The cursor of a page: the (patient, id) of the last stored record examined. */
function encodeCursor(version: StoredVersion): string {
  return Buffer.from(JSON.stringify([version.patientId, version.id])).toString('base64url');
}

function decodeCursor(cursor: string): { patientId: string; id: string } {
  try {
    const [patientId, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof patientId === 'string' && typeof id === 'string') return { patientId, id };
  } catch {
    // fall through
  }
  throw new CareLedgerError('ERR_INVALID_INPUT', 'not a bulk read cursor');
}

/**
 * The gateway bulk `$export` (src/export) reads through: the same admission, per-resource decision
 * (policy, consent, sensitivity, scopes, break-glass) and search matching as a search, over keyset
 * pages so an export never holds a whole type; audited once per patient for the whole export
 * (`recordExport`) rather than once per page, which a search would do.
 */
export class BulkReadGateway {
  /**
   * The visible compartments per requester context (an export job's, the same object for all its
   * pages) and type. For another member they list every patient granting it: computed per page, a
   * study release of N patients did O(N) consent checks and blind-index hashes for each of its O(N)
   * pages, most of its CPU at 10,000 patients (issue 18).
   */
  private readonly visibleMemo = new WeakMap<
    AccessContext,
    Map<string, { readonly at: number; readonly visible: Promise<VisibleCompartments> }>
  >();

  constructor(
    private readonly gate: AccessGate,
    private readonly store: SealedRecordStore,
  ) {}

  /** Whether the token's scopes reach the type for reading and searching at all. */
  inScope(context: AccessContext, resourceType: string): boolean {
    return (
      evaluateTokenScopes(context, 'operation', resourceType).allowed &&
      evaluateTokenScopes(context, 'search-type', resourceType).allowed
    );
  }

  /** Kick-off admission for every type (role, purpose, token scopes); a refusal is audited and thrown. */
  async admit(context: AccessContext, resourceTypes: readonly string[], entity: string): Promise<void> {
    for (const resourceType of resourceTypes) {
      await this.gate.admit('operation', context, { entity, resourceType });
      await this.gate.admit('search-type', context, { entity, resourceType });
    }
  }

  /**
   * The `:in` / `:not-in` ValueSets of the filters, expanded as a search expands them: the node's own
   * ValueSets read within this requester's access (search-value-sets.ts), then the shipped ones.
   */
  private async valueSetsOf(
    requester: Requester,
    context: AccessContext,
    filters: readonly string[],
    now: number,
  ): Promise<ValueSetLookup | undefined> {
    const query = new URLSearchParams(filters.join('&'));
    if (valueSetCanonicals(query).length === 0) return undefined;
    const scope: SearchScope = {
      parts: { store: this.store, gate: this.gate },
      requester,
      context,
      handling: 'strict',
      now,
      memo: new Map(),
      visible: new Map(),
      breakGlassPatients: new Set(),
      refusedPatients: new Map(),
      unverified: new Map(),
    };
    return loadValueSetLookup(scope, query);
  }

  async readPage(context: AccessContext, request: BulkPageRequest): Promise<BulkPage> {
    const requester = await this.gate.admit('search-type', context, { resourceType: request.resourceType });
    const now = this.store.now().getTime();
    const valueSets = await this.valueSetsOf(requester, context, request.filters, now);
    const plans: SearchPlan[] = request.filters.map((query) =>
      planSearch(request.resourceType, new URLSearchParams(query), this.store.searchHash, {
        handling: 'strict',
        now,
        ...(valueSets === undefined ? {} : { valueSets }),
      }),
    );
    const versions = await this.store.storage.pageCurrent(request.resourceType, {
      ...(request.after === undefined ? {} : { after: decodeCursor(request.after) }),
      ...(request.patients === undefined ? {} : { patients: request.patients }),
      ...(request.since === undefined ? {} : { since: request.since }),
      ...(request.until === undefined ? {} : { until: request.until }),
      limit: request.limit,
    });
    const memo: AddressMemo = new Map();
    const resources: { resource: Resource; json?: string; patientId: string; breakGlass: boolean }[] = [];
    const skipped: { resourceType: string; id: string; reason: string }[] = [];
    const refused = new Map<string, string>();
    // Decided before any record is opened (as for a search): a record outside the compartments the
    // requester may see is never decrypted; another member's attempt is still recorded as refused.
    const visible = await this.visibleFor(requester, context, request.resourceType, now);
    for (const version of versions) {
      if (!visible.all && !visible.patients.has(version.patientId)) {
        if (requester.kind === 'member' && version.patientId !== '' && !refused.has(version.patientId))
          refused.set(version.patientId, NOT_VISIBLE);
        continue;
      }
      let opened: { resource: Resource; text: string } | undefined;
      try {
        opened = await this.store.openForBulk(version);
      } catch (error) {
        if (!(error instanceof CareLedgerError) || error.code !== 'ERR_DECRYPT') throw error;
        skipped.push({
          resourceType: version.resourceType,
          id: version.id,
          reason: 'it failed its integrity check',
        });
        continue;
      }
      if (opened === undefined) continue;
      const resource = opened.resource;
      if (plans.length > 0 && !plans.some((plan) => matchesSearch(resource, plan))) continue;
      const decision = await this.gate.decide(
        requester,
        context,
        'search-type',
        version.patientId,
        resource,
        memo,
      );
      if (!decision.allowed) {
        if (context.member !== undefined && version.patientId !== '' && !refused.has(version.patientId))
          refused.set(version.patientId, decision.reason);
        continue;
      }
      const served = this.store.served(resource, version, context);
      resources.push({
        resource: served,
        // Served as stored (no version proof added): its stored text is written, not re-serialized.
        ...(served === resource ? { json: opened.text } : {}),
        patientId: version.patientId,
        breakGlass: decision.breakGlass,
      });
    }
    const last = versions.at(-1);
    return {
      resources,
      ...(versions.length < request.limit || last === undefined ? {} : { next: encodeCursor(last) }),
      skipped,
      refused: [...refused].map(([patientId, reason]) => ({ patientId, reason })),
    };
  }

  private visibleFor(
    requester: Requester,
    context: AccessContext,
    resourceType: string,
    now: number,
  ): Promise<VisibleCompartments> {
    let byType = this.visibleMemo.get(context);
    if (byType === undefined) {
      byType = new Map();
      this.visibleMemo.set(context, byType);
    }
    const kept = byType.get(resourceType);
    if (kept !== undefined && now - kept.at < VISIBLE_REUSE_MS && now >= kept.at) return kept.visible;
    const visible = this.gate.visibleCompartments(requester, context, resourceType);
    byType.set(resourceType, { at: now, visible });
    visible.catch(() => byType.delete(resourceType));
    return visible;
  }

  /**
   * Security review F12: of an export's patients, those another member may no longer see records of
   * the type from, judged now on the consent in force (the compartments a page would read, computed
   * afresh, not reused). A staff or patient requester's access does not hang on a grant: none.
   */
  async withdrawn(
    context: AccessContext,
    resourceType: string,
    patientIds: readonly string[],
  ): Promise<readonly string[]> {
    if (context.member === undefined || patientIds.length === 0) return [];
    const requester = await this.gate.admit('search-type', context, { resourceType });
    if (requester.kind !== 'member') return [];
    const visible = await this.gate.visibleCompartments(requester, context, resourceType);
    return visible.all ? [] : patientIds.filter((id) => !visible.patients.has(id));
  }

  /**
   * One AuditEvent per patient (IHE BALP, interaction `operation`), all in one log commit: a success,
   * or a denial (outcome 4 with its reason) for a patient the export delivered nothing of.
   */
  async recordExport(
    context: AccessContext,
    entity: string,
    patients: readonly {
      readonly patientId: string;
      readonly breakGlass: boolean;
      readonly denied?: string;
    }[],
  ): Promise<void> {
    if (patients.length === 0) return;
    await this.store.commitMany(
      [],
      patients.map((p) => ({
        interaction: 'operation' as const,
        context,
        entity,
        patient: p.patientId,
        breakGlass: p.breakGlass,
        ...(p.denied === undefined ? {} : { outcome: 'denied' as const, outcomeDescription: p.denied }),
      })),
    );
  }
}
