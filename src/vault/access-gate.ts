import type { Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import {
  type AccessPolicy,
  evaluateTokenScopes,
  patientLedgerAddress,
  type Requester,
  type ResourceDecision,
} from '../access/index.js';
import type { AccessContext, FhirInteraction } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { compartmentPatient } from '../fhir/compartment/compartment-patient.js';
import { type DeniedAccess, recordDenied } from './audit-trail.js';
import type { SealedRecordStore } from './sealed-record-store.js';

/** Per-request memo of patients' ledger addresses (each Patient is decrypted once per request). */
export type AddressMemo = Map<string, Promise<Address | undefined>>;

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

  /** A write (or the version it replaces) the requester may not make is refused and audited; returns the break-glass mark. */
  async admitWrite(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    resource: Resource,
    patientId: string = compartmentPatient(resource),
  ): Promise<boolean> {
    const decision = await this.decide(requester, context, interaction, patientId, resource, new Map());
    if (!decision.allowed) {
      await this.refuse(interaction, context, {
        entity: `${resource.resourceType}/${resource.id ?? ''}`,
        patient: patientId,
        reason: decision.reason,
      });
    }
    return decision.allowed && decision.breakGlass;
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
