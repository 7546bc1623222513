import type { Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import {
  evaluateTokenScopes,
  isLedgerAddressUnchanged,
  LEDGER_ADDRESS_WRITE_REFUSED,
  parseRequester,
  patientLedgerAddress,
  withLedgerAddress,
} from '../../access/index.js';
import type { AccessContext, FhirInteraction } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import {
  type LedgerKeyChallenge,
  ledgerKeyProofError,
  verifyLedgerKeyProof,
} from '../../identity/ledger-key-proof.js';
import type { GatewayParts } from './gateway-parts.js';

/**
 * Refuses (403, audited as a denial) a plain FHIR write of a Patient that would link, change or
 * remove its ledger-address identifier (issue 14 item 12): whoever may edit demographics must not be
 * able to point the patient's consent at a key they hold. `previous` is the version replaced
 * (undefined for a create); only key enrolment (linkLedgerAddress) changes the identifier.
 */
export async function verifyLedgerAddressWrite(
  parts: GatewayParts,
  interaction: FhirInteraction,
  context: AccessContext,
  previous: Resource | undefined,
  next: Resource,
): Promise<void> {
  if (isLedgerAddressUnchanged(previous, next)) return;
  await parts.gate.refuse(interaction, context, {
    entity: `Patient/${next.id ?? ''}`,
    patient: next.id ?? '',
    reason: LEDGER_ADDRESS_WRITE_REFUSED,
  });
}

/** A proof of possession of the key to link: the stored challenge, the signature, and its one use. */
export interface LedgerKeyProof {
  readonly challenge: LedgerKeyChallenge;
  readonly signature: unknown;
  /** Marks the challenge used, atomically; false if it already was (a replay). */
  readonly consume: () => boolean | Promise<boolean>;
}

export interface LedgerKeyLinkResult {
  readonly patient: Resource;
  readonly address: Address | undefined;
  readonly previous: Address | undefined;
  /** False when the proof re-confirmed the key already linked (no new version; still audited). */
  readonly changed: boolean;
}

const ENROLMENT_ENTITY = (patientId: string) => `Patient/${patientId}/$enrol-ledger-key`;

/**
 * Who may link or change a patient's ledger key. The first link (or a re-confirmation of the key
 * already linked): any of the node's staff at the desk, or the patient themselves. Replacing or
 * removing a linked key: the privacy officer only. Always with a proof of possession of the new key.
 */
function evaluateLinkRequester(
  context: AccessContext,
  patient: Resource,
  change: 'link' | 'replace' | 'remove',
): { allowed: true } | { allowed: false; reason: string } {
  const scoped = evaluateTokenScopes(context, 'update', 'Patient', {
    resource: patient,
    patientId: patient.id ?? '',
  });
  if (!scoped.allowed) return scoped;
  const requester = parseRequester(context);
  if (requester.kind === 'staff') {
    if (requester.roles.includes('privacy-officer')) return { allowed: true };
    if (change === 'link' && requester.roles.length > 0) return { allowed: true };
    return {
      allowed: false,
      reason: 'replacing or removing a patient\u2019s ledger key needs the privacy officer',
    };
  }
  if (requester.kind === 'patient' && requester.patientId === patient.id) {
    if (change === 'link') return { allowed: true };
    return {
      allowed: false,
      reason: 'replacing or removing a patient\u2019s ledger key needs the privacy officer',
    };
  }
  return {
    allowed: false,
    reason: 'only this node\u2019s staff or the patient may enrol the patient\u2019s key',
  };
}

/**
 * Links the key a proof of possession names to Patient `patientId` (or, with no proof, removes the
 * link: privacy officer only), as a new Patient version carrying exactly that ledger-address
 * identifier, and audits the enrolment: an AuditEvent (operation `$enrol-ledger-key`) naming who did
 * it, the patient and the key, besides the update's own. The proof is checked here, under the
 * Patient's lock, so no caller can link a key without its holder's signature.
 */
export async function linkLedgerAddress(
  parts: GatewayParts,
  patientId: string,
  proof: LedgerKeyProof | undefined,
  context: AccessContext,
): Promise<LedgerKeyLinkResult> {
  const { store, gate } = parts;
  // Who may ask at all, before looking: another member or patient is refused alike whether the Patient
  // exists or not (issue 14 item 5), as the challenge is.
  const requester = parseRequester(context);
  if (requester.kind !== 'staff' && !(requester.kind === 'patient' && requester.patientId === patientId)) {
    // The metadata row only (nothing opened), so the patient still finds the attempt in their history.
    const row = await store.storage.current('Patient', patientId);
    return gate.refuse('operation', context, {
      entity: ENROLMENT_ENTITY(patientId),
      patient: row === undefined || row.deleted ? '' : patientId,
      reason: 'only this node\u2019s staff or the patient may enrol the patient\u2019s key',
    });
  }
  return store.withLock(`Patient/${patientId}`, async () => {
    const current = await store.storage.current('Patient', patientId);
    if (current === undefined || current.deleted) {
      throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
    }
    const old = await store.open(current);
    const previous = patientLedgerAddress(old);
    const address =
      proof === undefined
        ? undefined
        : await verifyLedgerKeyProof(proof.challenge, proof.signature, {
            patientId,
            nowSeconds: Math.floor(store.now().getTime() / 1000),
          });
    const change =
      address === undefined ? 'remove' : previous === undefined || previous === address ? 'link' : 'replace';
    const allowed = evaluateLinkRequester(context, old, change);
    if (!allowed.allowed) {
      return gate.refuse('operation', context, {
        entity: ENROLMENT_ENTITY(patientId),
        patient: patientId,
        reason: allowed.reason,
      });
    }
    if (proof !== undefined && !(await proof.consume())) throw ledgerKeyProofError('challenge-used');
    const next = withLedgerAddress(old, address);
    const changed = !isLedgerAddressUnchanged(old, next);
    const patient = changed ? await store.writeVersion(next, current.versionId + 1, 'update', context) : old;
    await store.commit([], {
      interaction: 'operation',
      context,
      entity: ENROLMENT_ENTITY(patientId),
      patient: patientId,
      outcomeDescription:
        address === undefined
          ? `ledger key ${previous ?? '(none)'} unlinked`
          : `ledger key ${address} linked with proof of possession (challenge ${proof?.challenge.nonce})${
              previous !== undefined && previous !== address ? `, replacing ${previous}` : ''
            }`,
    });
    return { patient, address, previous, changed };
  });
}
