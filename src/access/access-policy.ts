import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { AccessContext, FhirInteraction } from '../audit/create-audit-event.js';
import { type DataCategory, encodeCategories, encodePurposes, isPurposeOfUse } from '../ledger/index.js';
import {
  createScopeFilter,
  evaluateScopes,
  type ScopeContext,
  type ScopePermission,
} from '../smart/index.js';
import type { BreakGlassReader } from './break-glass.js';
import { categorizeResource, SENSITIVE_CATEGORIES } from './categorize-resource.js';
import type { ConsentCheck } from './consent-check.js';
import { evaluateIdentification, type IdentificationDecision } from './identification.js';
import { evaluatePatientWrite } from './patient-requests.js';
import {
  type CompartmentScope,
  evaluateVisibleCompartments,
  type GrantingPatients,
} from './visible-compartments.js';

/** Roles a node gives its own staff. */
export const STAFF_ROLES = ['clinician', 'registrar', 'privacy-officer'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);
}

/** Who is asking, as the policy sees it (derived from the authenticated AccessContext). */
export type Requester =
  | { readonly kind: 'staff'; readonly who: string; readonly roles: readonly StaffRole[] }
  | { readonly kind: 'patient'; readonly who: string; readonly patientId: string }
  | { readonly kind: 'member'; readonly who: string; readonly address: Address }
  | { readonly kind: 'unknown'; readonly who: string };

export type InteractionDecision =
  | { readonly allowed: true; readonly requester: Requester }
  | { readonly allowed: false; readonly reason: string };

export type ResourceDecision =
  | {
      readonly allowed: true;
      readonly basis: 'staff-role' | 'own-record' | 'consent' | 'directory' | 'break-glass' | 'audit-role';
      /** Access inside a break-glass window: its AuditEvent is marked (DICOM 110127). */
      readonly breakGlass: boolean;
      readonly grantId?: Hex;
    }
  | { readonly allowed: false; readonly reason: string };

/** What the policy needs to know about one resource; the patient's ledger address only when asked. */
export interface ResourceFacts {
  readonly resource: Resource;
  /** The compartment's patient id, '' for none. */
  readonly patientId: string;
  readonly patientAddress: () => Promise<Address | undefined>;
}

export interface AccessPolicyOptions {
  /** Consent decisions from the node's ledger index (evaluateConsent bound to it). */
  readonly consent: ConsentCheck;
  /** The patients with a grant to a grantee, from the same index: bounds a member's search before any record is read. */
  readonly grantingPatients?: GrantingPatients;
  /** This node's member address: the grantee of organization-level grants to its staff. */
  readonly nodeAddress: Address;
  readonly breakGlass: BreakGlassReader;
  readonly now?: () => Date;
  /**
   * Issue 21: when the node requires licence credentials, the refusal reason for a practitioner whose
   * credential does not verify against the chain now (undefined when it does). Absent: not checked.
   */
  readonly practitionerCredential?: (
    who: { readonly practitionerId: string } | { readonly account: Address },
    action: 'access' | 'prescribe',
  ) => Promise<string | undefined>;
}

const READS: ReadonlySet<FhirInteraction> = new Set([
  'read',
  'vread',
  'history-instance',
  'history-type',
  'search-type',
  'operation',
]);

/**
 * Purposes under which a node's clinicians see their own patients' ordinary records without a ledger
 * grant (the treatment relationship inside one organization, as HIPAA's TPO rule allows). Other
 * purposes, and every sensitive category, need the patient's grant on the ledger.
 */
const STAFF_PURPOSES: ReadonlySet<string> = new Set(['TREAT', 'ETREAT', 'HOPERAT']);

const SCOPE_PERMISSION: Record<FhirInteraction, ScopePermission | undefined> = {
  create: 'c',
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  operation: 'r',
  update: 'u',
  delete: 'd',
  'search-type': 's',
  'history-type': 's',
  // Checked entry by entry, as the creates, updates and deletes they are.
  transaction: undefined,
  batch: undefined,
};

/** The SMART contexts a token's scopes may act in for this resource (SMART App Launch §3). */
function scopeContexts(context: AccessContext, patientId: string | undefined): ScopeContext[] {
  const contexts: ScopeContext[] = [];
  const kind = context.who.split('/')[0];
  if (kind === 'Organization' || kind === 'Device') contexts.push('system');
  else contexts.push('user');
  const inContext =
    context.launchPatient ?? (kind === 'Patient' ? context.who.slice('Patient/'.length) : undefined);
  // patient/ scopes reach the patient in context only; an undefined patientId is a type-level check.
  if (inContext !== undefined && (patientId === undefined || patientId === inContext))
    contexts.push('patient');
  return contexts;
}

/**
 * What the token's scopes allow, on top of what the person may do: a SMART app gets at most the
 * intersection. `resource` undefined asks whether the interaction on the type is in scope at all.
 */
export function evaluateTokenScopes(
  context: AccessContext,
  interaction: FhirInteraction,
  resourceType: string,
  target?: { resource: Resource; patientId: string },
): { allowed: true } | { allowed: false; reason: string } {
  if (context.scopes === undefined) return { allowed: true };
  const permission = SCOPE_PERMISSION[interaction];
  if (permission === undefined) return { allowed: true };
  for (const scopeContext of scopeContexts(context, target?.patientId)) {
    const filter = createScopeFilter(context.scopes, {
      context: scopeContext,
      resourceType,
      interaction: permission,
    });
    if (target === undefined) {
      if (filter.allowed) return { allowed: true };
    } else if (permission === 's') {
      if (filter.matches(target.resource)) return { allowed: true };
    } else if (
      evaluateScopes(context.scopes, {
        context: scopeContext,
        resourceType,
        interaction: permission,
        resource: target.resource,
      }).allowed
    ) {
      return { allowed: true };
    }
  }
  return { allowed: false, reason: `insufficient scope for ${permission} on ${resourceType}` };
}

export function parseRequester(context: AccessContext): Requester {
  const [type, id] = context.who.split('/');
  if (type === 'Practitioner' && id !== undefined && id !== '') {
    const roles = (context.roles ?? ['clinician']).filter(isStaffRole);
    return { kind: 'staff', who: context.who, roles };
  }
  if (type === 'Patient' && id !== undefined && id !== '') {
    return { kind: 'patient', who: context.who, patientId: id };
  }
  if (type === 'Organization' && context.member !== undefined) {
    return { kind: 'member', who: context.who, address: context.member };
  }
  return { kind: 'unknown', who: context.who };
}

/**
 * The node's access policy (ARCHITECTURE §4): its own staff roles, the ledger consent index, the
 * sensitivity labels of each resource, and break-glass. Two questions per request: may this requester
 * attempt this interaction at all (evaluateInteraction), and may they see or write this resource
 * (evaluateResource). Search, history and $everything ask the second for every candidate and drop the
 * refused ones before counting, so neither a refused resource nor its existence leaks.
 */
export class AccessPolicy {
  private readonly now: () => Date;

  constructor(private readonly options: AccessPolicyOptions) {
    this.now = options.now ?? (() => new Date());
  }

  evaluateInteraction(context: AccessContext, interaction: FhirInteraction): InteractionDecision {
    if (!isPurposeOfUse(context.purpose)) return { allowed: false, reason: 'unknown purpose of use' };
    const requester = parseRequester(context);
    const isRead = READS.has(interaction);
    switch (requester.kind) {
      case 'staff':
        if (requester.roles.length === 0) return { allowed: false, reason: 'no staff role' };
        if (!isRead && !requester.roles.some((r) => r === 'clinician' || r === 'registrar')) {
          return { allowed: false, reason: 'this role may read, not write' };
        }
        return { allowed: true, requester };
      case 'patient':
        // A patient writes only their own Consent directives (checked per resource).
        if (isRead || interaction === 'create' || interaction === 'update')
          return { allowed: true, requester };
        return { allowed: false, reason: 'a patient may read their own records here, not change them' };
      case 'member':
        if (!isRead) return { allowed: false, reason: 'another member may read with consent, not write' };
        return { allowed: true, requester };
      default:
        return { allowed: false, reason: 'the requester is not staff, a patient or a member' };
    }
  }

  /** A practitioner's live licence check (issue 21): the refusal reason, or undefined to go on. */
  async evaluatePractitioner(
    requester: Requester,
    context: AccessContext,
    action: 'access' | 'prescribe' = 'access',
  ): Promise<string | undefined> {
    const check = this.options.practitionerCredential;
    if (check === undefined) return undefined;
    // The licensed role: a clinician here (registrars and privacy officers hold no licence), or the
    // practitioner another member acts for (RFC 8693 `act`, Practitioner/<ledger account>).
    if (requester.kind === 'staff' && requester.roles.includes('clinician')) {
      return check({ practitionerId: requester.who.slice(requester.who.indexOf('/') + 1) }, action);
    }
    const actor = /^Practitioner\/(0x[0-9a-fA-F]{40})$/.exec(context.onBehalfOf ?? '');
    if (requester.kind === 'member' && actor !== null) {
      return check({ account: actor[1] as Address }, action);
    }
    return undefined;
  }

  /** Whose records of a type the requester may possibly see, before any is touched (visible-compartments.ts). */
  evaluateCompartments(
    requester: Requester,
    context: AccessContext,
    resourceType: string,
  ): Promise<CompartmentScope> {
    return evaluateVisibleCompartments(requester, context, resourceType, {
      consent: this.options.consent,
      ...(this.options.grantingPatients === undefined
        ? {}
        : { grantingPatients: this.options.grantingPatients }),
      now: this.now(),
    });
  }

  /**
   * May another member match the patient's ledger address to this node's Patient (identification.ts)?
   * Only another member asks: the node's staff search, and a patient knows who they are.
   */
  evaluateIdentification(
    requester: Requester,
    context: AccessContext,
    patient: Address,
  ): Promise<IdentificationDecision> {
    if (requester.kind !== 'member' || !isPurposeOfUse(context.purpose))
      return Promise.resolve({ allowed: false, reason: 'no-grant' });
    return evaluateIdentification(this.options.consent, {
      patient,
      grantee: requester.address,
      purpose: context.purpose,
      at: Math.floor(this.now().getTime() / 1000),
    });
  }

  async evaluateResource(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    facts: ResourceFacts,
  ): Promise<ResourceDecision> {
    const write = !READS.has(interaction);
    const type = facts.resource.resourceType;
    const scoped = evaluateTokenScopes(context, interaction, type, facts);
    if (!scoped.allowed) return scoped;
    if (type === 'AuditEvent') {
      if (write) return { allowed: false, reason: 'AuditEvents are written by the node only' };
      if (requester.kind === 'patient' && facts.patientId === requester.patientId) {
        return { allowed: true, basis: 'own-record', breakGlass: false };
      }
      if (requester.kind === 'staff' && requester.roles.includes('privacy-officer')) {
        return { allowed: true, basis: 'audit-role', breakGlass: false };
      }
      return { allowed: false, reason: 'audit records are shown to the patient and the privacy officer' };
    }
    const categories = categorizeResource(facts.resource);
    switch (requester.kind) {
      case 'patient':
        if (facts.patientId !== requester.patientId) {
          return { allowed: false, reason: "outside the patient's own records" };
        }
        if (write) {
          // Consent directives and the portal's requests (patient-requests.ts, decision 0029).
          const own = evaluatePatientWrite(facts.resource, requester.patientId);
          if (!own.allowed) return own;
        }
        return { allowed: true, basis: 'own-record', breakGlass: false };
      case 'member': {
        if (categories.length === 0) return { allowed: true, basis: 'directory', breakGlass: false };
        // A clinical record tied to no patient (a Group of patients, a Binary) has no patient whose
        // grant could cover it: it stays with the node's own staff.
        if (facts.patientId === '') {
          return { allowed: false, reason: "a record of no patient is kept for the node's own staff" };
        }
        return this.byConsent(requester.address, context, categories, facts);
      }
      case 'staff':
        return this.forStaff(requester, context, write, categories, facts);
      default:
        return { allowed: false, reason: 'the requester is not staff, a patient or a member' };
    }
  }

  private async forStaff(
    requester: Extract<Requester, { kind: 'staff' }>,
    context: AccessContext,
    write: boolean,
    categories: readonly DataCategory[],
    facts: ResourceFacts,
  ): Promise<ResourceDecision> {
    const session =
      facts.patientId === ''
        ? undefined
        : await this.options.breakGlass.active(requester.who, facts.patientId, this.now().toISOString());
    const breakGlass = session !== undefined && requester.roles.includes('clinician');
    const directory = categories.length === 0 || facts.patientId === '';
    let decision: ResourceDecision;
    if (directory) {
      decision = { allowed: true, basis: 'directory', breakGlass: false };
    } else if (requester.roles.includes('clinician')) {
      const sensitive = categories.filter((c) => SENSITIVE_CATEGORIES.has(c));
      if (write) decision = { allowed: true, basis: 'staff-role', breakGlass };
      else if (sensitive.length === 0 && STAFF_PURPOSES.has(context.purpose)) {
        decision = { allowed: true, basis: 'staff-role', breakGlass };
      } else {
        // Sensitive parts (42 CFR Part 2 and alike) need the patient's own grant, even in-house.
        decision = await this.byConsent(
          this.options.nodeAddress,
          context,
          STAFF_PURPOSES.has(context.purpose) ? sensitive : categories,
          facts,
        );
        if (decision.allowed) decision = { ...decision, breakGlass };
      }
    } else if (requester.roles.includes('registrar') && categories.every((c) => c === 'demographics')) {
      decision = { allowed: true, basis: 'staff-role', breakGlass: false };
    } else if (
      requester.roles.includes('privacy-officer') &&
      !write &&
      categories.every((c) => c === 'demographics')
    ) {
      // Whom an access under review concerns (45 CFR 164.530(a), the privacy official): the name, read
      // only, each read in the patient's access history like any other; never clinical data.
      decision = { allowed: true, basis: 'staff-role', breakGlass: false };
    } else {
      decision = { allowed: false, reason: 'this staff role does not cover clinical records' };
    }
    if (!decision.allowed && breakGlass && !write) {
      return { allowed: true, basis: 'break-glass', breakGlass: true };
    }
    return decision;
  }

  private async byConsent(
    grantee: Address,
    context: AccessContext,
    categories: readonly DataCategory[],
    facts: ResourceFacts,
  ): Promise<ResourceDecision> {
    const patient = await facts.patientAddress();
    if (patient === undefined) {
      return { allowed: false, reason: 'the patient has no ledger key here, so no consent can apply' };
    }
    const decision = await this.options.consent({
      patient,
      grantee,
      category: encodeCategories(categories),
      purpose: encodePurposes([context.purpose]),
      at: Math.floor(this.now().getTime() / 1000),
    });
    if (decision.allowed) {
      return { allowed: true, basis: 'consent', breakGlass: false, grantId: decision.grantId };
    }
    return { allowed: false, reason: `no consent in force (${decision.reason})` };
  }
}
