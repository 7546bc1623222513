import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { FhirIssue } from '../../fhir/fhir-issue.js';
import {
  collectDisplays,
  type ExpansionRequest,
  expandValueSet,
  expansionResource,
  layeredSource,
  referencedCanonicals,
  shippedTerminologySource,
  stripVersion,
  type TerminologySource,
  UNEXPANDABLE,
} from '../../fhir/terminology/index.js';
import type { StoredVersion } from '../record-storage.js';
import type { AuditSpec } from '../sealed-record-store.js';
import type { GatewayParts } from './gateway-parts.js';
import { candidatesOf, isVisible, mayTouch, openVerified, type SearchScope } from './search-scope.js';
import { findStored, loadStoredTerminology } from './search-value-sets.js';

type JsonObject = Readonly<Record<string, unknown>>;

/** Which ValueSet to expand: exactly one of a canonical, a stored id, or one sent inline. */
export type ExpandTarget =
  | { readonly url: string }
  | { readonly id: string }
  | { readonly valueSet: JsonObject };

export interface ExpandOptions extends ExpansionRequest {
  /** `urn:uuid:` identifier of the expansion (injected: tests fix it). */
  readonly identifier: string;
}

/** The canonical an inline ValueSet without a url is expanded under (never stored, never looked up). */
const INLINE = 'urn:careledger:inline-value-set';

/**
 * ValueSet/$expand (R4 valueset-operation-expand.html) through the gateway: admitted and scoped like a
 * read of ValueSet; the ValueSet and what it includes are the node's own (read only where the requester
 * may read them) before the shipped R4 definitions, exactly as `:in` expands them. One AuditEvent per
 * patient compartment read (ValueSets have none: one entry with no patient). What needs a terminology
 * server is refused with `not-supported`, an unknown ValueSet with `not-found`; each names the reason.
 */
export async function expandValueSetOperation(
  parts: GatewayParts,
  target: ExpandTarget,
  context: AccessContext,
  options: ExpandOptions,
): Promise<Record<string, unknown>> {
  const entity = 'id' in target ? `ValueSet/${target.id}/$expand` : 'ValueSet/$expand';
  const requester = await parts.gate.admit('read', context, { entity, resourceType: 'ValueSet' });
  const now = parts.store.now();
  const scope: SearchScope = {
    parts,
    requester,
    context,
    handling: 'strict',
    now: now.getTime(),
    memo: new Map(),
    visible: new Map(),
    breakGlassPatients: new Set(),
    refusedPatients: new Map(),
    unverified: new Map(),
  };
  const read: StoredVersion[] = [];
  let valueSet: JsonObject | undefined;
  if ('valueSet' in target) valueSet = target.valueSet;
  else if ('id' in target) {
    const stored = await storedById(scope, target.id);
    if (stored !== undefined) {
      valueSet = stored.resource as unknown as JsonObject;
      read.push(stored.version);
    }
  } else {
    const stored = await findStored(scope, 'ValueSet', stripVersion(target.url));
    if (stored !== undefined) {
      valueSet = stored.resource as unknown as JsonObject;
      read.push(stored.version);
    } else valueSet = shippedTerminologySource().valueSet(stripVersion(target.url));
  }
  const reason =
    valueSet !== undefined
      ? undefined
      : 'url' in target && target.url.includes('?fhir_vs')
        ? UNEXPANDABLE.implicit
        : UNEXPANDABLE.unknown;
  if (valueSet === undefined) {
    await audit(parts, context, entity, read, reason);
    throw refusal(reason as string);
  }
  const stored = await loadStoredTerminology(scope, referencedCanonicals(valueSet));
  read.push(...stored.versions);
  const canonical = typeof valueSet.url === 'string' ? stripVersion(valueSet.url) : INLINE;
  const self: TerminologySource = {
    valueSet: (url) => (url === canonical ? valueSet : undefined),
    codeSystem: () => undefined,
  };
  const source = layeredSource([self, stored.source, shippedTerminologySource()]);
  const expansion = expandValueSet(canonical, source);
  if ('unexpandable' in expansion) {
    await audit(parts, context, entity, read, expansion.unexpandable);
    throw refusal(expansion.unexpandable);
  }
  await audit(parts, context, entity, read, undefined);
  return expansionResource(valueSet, expansion.codings, collectDisplays(valueSet, source), options, {
    identifier: options.identifier,
    timestamp: now.toISOString(),
  });
}

/** The current stored ValueSet with this id, if the requester may read it. */
async function storedById(
  scope: SearchScope,
  id: string,
): Promise<{ readonly resource: Resource; readonly version: StoredVersion } | undefined> {
  for (const candidate of await candidatesOf(scope, 'ValueSet', [], [id])) {
    if (!(await mayTouch(scope, candidate))) continue;
    const resource = await openVerified(scope, candidate);
    if (resource === undefined || !(await isVisible(scope, candidate, resource))) continue;
    return { resource, version: candidate };
  }
  return undefined;
}

/** One AuditEvent per patient compartment the stored ValueSets and CodeSystems lie in, at least one. */
async function audit(
  parts: GatewayParts,
  context: AccessContext,
  entity: string,
  read: readonly StoredVersion[],
  failure: string | undefined,
): Promise<void> {
  const patients = new Set(read.map((version) => version.patientId));
  if (patients.size === 0) patients.add('');
  const audits: AuditSpec[] = [...patients].map((patient) => ({
    interaction: 'read',
    context,
    entity,
    patient,
    ...(failure === undefined ? {} : { outcome: 'failed' as const, outcomeDescription: failure }),
  }));
  await parts.store.commitMany([], audits);
}

/** `not-found` for a ValueSet this node does not know; `not-supported` for what needs a terminology server. */
function refusal(reason: string): CareLedgerError {
  const known = reason === UNEXPANDABLE.unknown;
  const issue: FhirIssue = {
    severity: 'error',
    code: known ? 'not-found' : 'not-supported',
    diagnostics: `ValueSet/$expand: ${reason}`,
    expression: [],
  };
  return new CareLedgerError(known ? 'ERR_NOT_FOUND' : 'ERR_UNPROCESSABLE', `ValueSet/$expand: ${reason}`, {
    details: { issues: [issue] },
  });
}
