import type { Resource } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import {
  type AccessPolicy,
  evaluateTokenScopes,
  type IdentificationDecision,
  LEDGER_ADDRESS_SYSTEM,
  patientLedgerAddress,
  type Requester,
  type ResourceDecision,
} from '../access/index.js';
import type { AccessContext, FhirInteraction } from '../audit/create-audit-event.js';
import { credentialActionOf } from '../credentials/action-qualifications.js';
import { CareLedgerError } from '../errors/index.js';
import { compartmentPatient } from '../fhir/compartment/compartment-patient.js';
import { planSearch } from '../fhir/search/index.js';
import { type DeniedAccess, recordDenied } from './audit-trail.js';
import type { SealedRecordStore } from './sealed-record-store.js';

/** Per-request memo of patients' ledger addresses (each Patient is decrypted once per request). */
export type AddressMemo = Map<string, Promise<Address | undefined>>;

/**
 * The compartments a search may touch, decided before any candidate is: every one, or these patient
 * ids ('' standing for records of no patient).
 */
export type VisibleCompartments =
  | { readonly all: true }
  | { readonly all: false; readonly patients: ReadonlySet<string> };

/** Ledger addresses looked up per blind-index query (two hashes each: checksummed and lower case). */
const ADDRESS_BATCH = 200;

/**
 * The gateway's checkpoints, in the manner of HAPI FHIR's AuthorizationInterceptor and
 * ConsentInterceptor: every interaction is first admitted (`admit`: role, purpose, token scopes),
 * then each resource it would touch is judged (`decide`: compartment, ledger consent, sensitivity,
 * break-glass), and every refusal is audited before ERR_FORBIDDEN is thrown (`refuse`).
 */
export class AccessGate {
  constructor(
    private readonly policy: AccessPolicy,
    private readonly store: SealedRecordStore,
  ) {}

  /**
   * The first question of every request: may this requester attempt the interaction at all? A refusal
   * is recorded (AuditEvent outcome 4, with the reason) and answered with ERR_FORBIDDEN.
   */
  async admit(
    interaction: FhirInteraction,
    context: AccessContext,
    target: { entity?: string; patient?: string; resourceType?: string },
  ): Promise<Requester> {
    const decision = this.policy.evaluateInteraction(context, interaction);
    if (!decision.allowed) return this.refuse(interaction, context, { ...target, reason: decision.reason });
    const unlicensed = await this.policy.evaluatePractitioner(decision.requester, context);
    if (unlicensed !== undefined) return this.refuse(interaction, context, { ...target, reason: unlicensed });
    if (target.resourceType !== undefined) {
      const scoped = evaluateTokenScopes(context, interaction, target.resourceType);
      if (!scoped.allowed) return this.refuse(interaction, context, { ...target, reason: scoped.reason });
    }
    return decision.requester;
  }

  /** The second question, for one resource: may the requester see (or write) it? */
  decide(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    patientId: string,
    resource: Resource,
    memo: AddressMemo,
  ): Promise<ResourceDecision> {
    return this.policy.evaluateResource(requester, context, interaction, {
      resource,
      patientId,
      patientAddress: () => {
        let address = memo.get(patientId);
        if (address === undefined) {
          address = this.store.storage
            .current('Patient', patientId)
            .then(async (v) =>
              v === undefined || v.deleted
                ? undefined
                : patientLedgerAddress(await this.store.openUnlessErased(v)),
            );
          memo.set(patientId, address);
        }
        return address;
      },
    });
  }

  /**
   * Issue 14 item 5, issue 16: whose records of a type the requester may possibly see, from the policy
   * and the ledger index, and the blind index for the Patients carrying a consenting ledger address:
   * no record is decrypted, so the work depends only on what the requester may see.
   */
  async visibleCompartments(
    requester: Requester,
    context: AccessContext,
    resourceType: string,
  ): Promise<VisibleCompartments> {
    const scope = await this.policy.evaluateCompartments(requester, context, resourceType);
    if (scope.all) return { all: true };
    const patients = new Set(scope.patientIds);
    if (scope.noPatient) patients.add('');
    for (let i = 0; i < scope.ledgerAddresses.length; i += ADDRESS_BATCH) {
      // The identifier as written is matched exactly by its keyed hash: the checksummed and the
      // lower-case forms are the two a Patient carries (patientIdByLedgerAddress looks up the same).
      const forms = scope.ledgerAddresses
        .slice(i, i + ADDRESS_BATCH)
        .flatMap((address) => [getAddress(address), address.toLowerCase()])
        .map((form) => `${LEDGER_ADDRESS_SYSTEM}|${form}`);
      const plan = planSearch('Patient', { identifier: forms.join(',') }, this.store.searchHash, {
        handling: 'strict',
      });
      for (const patient of await this.store.storage.searchCandidates('Patient', plan.indexFilters))
        patients.add(patient.id);
    }
    return { all: false, patients };
  }

  /** A write (or the version it replaces) the requester may not make is refused and audited; returns the break-glass mark. */
  async admitWrite(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    resource: Resource,
    patientId: string = compartmentPatient(resource),
  ): Promise<boolean> {
    const decision = await this.decide(requester, context, interaction, patientId, resource, new Map());
    // Issue 21: an order (a prescription, a service request…) needs a prescriber's licence (decision 0028).
    const unqualified =
      decision.allowed && credentialActionOf(interaction, resource.resourceType) === 'prescribe'
        ? await this.policy.evaluatePractitioner(requester, context, 'prescribe')
        : undefined;
    if (!decision.allowed || unqualified !== undefined) {
      await this.refuse(interaction, context, {
        entity: `${resource.resourceType}/${resource.id ?? ''}`,
        patient: patientId,
        reason: decision.allowed ? (unqualified as string) : decision.reason,
      });
    }
    return decision.allowed && decision.breakGlass;
  }

  /**
   * The version an update, patch or delete replaces: the requester must be allowed to write it and to
   * see it (the policy, not the token's scopes), so nobody overwrites or deletes blind a record hidden
   * from them, e.g. a clinician without the patient's grant dropping an HIV label by a PUT (security
   * review, issue 14). Returns the break-glass mark.
   */
  async admitReplace(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    replaced: Resource,
    patientId: string,
  ): Promise<boolean> {
    const { scopes: _scopes, ...policyOnly } = context;
    const seen = await this.decide(requester, policyOnly, 'read', patientId, replaced, new Map());
    if (!seen.allowed) {
      await this.refuse(interaction, context, {
        entity: `${replaced.resourceType}/${replaced.id ?? ''}`,
        patient: patientId,
        reason: `may not ${interaction} what it may not see: ${seen.reason}`,
      });
    }
    return this.admitWrite(requester, context, interaction, replaced, patientId);
  }

  /** May another member match this ledger address to a Patient here (AccessPolicy.evaluateIdentification)? */
  identify(requester: Requester, context: AccessContext, patient: Address): Promise<IdentificationDecision> {
    return this.policy.evaluateIdentification(requester, context, patient);
  }

  /** Whether the requester may know that versions of this compartment exist (deleted versions have no content to judge). */
  seesCompartment(requester: Requester, patientId: string): boolean {
    if (requester.kind === 'patient') return patientId === requester.patientId;
    return requester.kind === 'staff';
  }

  /** Records a refusal and throws ERR_FORBIDDEN with its reason. */
  async refuse(interaction: FhirInteraction, context: AccessContext, target: DeniedAccess): Promise<never> {
    await recordDenied(this.store, interaction, context, target);
    throw new CareLedgerError('ERR_FORBIDDEN', `access refused: ${target.reason}`, {
      details: {
        reason: target.reason,
        ...(target.reason.startsWith('insufficient scope') ? { oauth: 'insufficient_scope' } : {}),
      },
    });
  }
}
