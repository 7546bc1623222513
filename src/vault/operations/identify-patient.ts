import { type Address, getAddress } from 'viem';
import { LEDGER_ADDRESS_SYSTEM, patientLedgerAddress } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { planSearch } from '../../fhir/search/index.js';
import { type DataCategory, PURPOSES_OF_USE } from '../../ledger/index.js';
import { recordDenied } from '../audit-trail.js';
import type { SealedRecordStore } from '../sealed-record-store.js';
import type { GatewayParts } from './gateway-parts.js';

/** What another member learns by identifying a patient: the link, and what the grant lets it receive. */
export interface PatientIdentification {
  /** This node's Patient id for the ledger address. */
  readonly patientId: string;
  readonly address: Address;
  /** The data categories the patient's grants in force cover for the asked purpose. */
  readonly categories: readonly DataCategory[];
}

/**
 * This node's current Patient carrying the ledger address (the identifier in LEDGER_ADDRESS_SYSTEM),
 * found through the blind index, read by the node itself (no requester, no AuditEvent).
 */
export async function findPatientByLedgerAddress(
  store: SealedRecordStore,
  address: Address,
): Promise<string | undefined> {
  const wanted = address.toLowerCase();
  for (const form of new Set([getAddress(address), wanted])) {
    for (const candidate of await ledgerAddressCandidates(store, form)) {
      if (candidate.deleted) continue;
      const resource = await store.openUnlessErased(candidate);
      if (resource !== undefined && patientLedgerAddress(resource)?.toLowerCase() === wanted)
        return resource.id;
    }
  }
  return undefined;
}

/** Current Patient versions the blind index links to one written form of the address (nothing opened). */
function ledgerAddressCandidates(store: SealedRecordStore, form: string) {
  const plan = planSearch(
    'Patient',
    new URLSearchParams({ identifier: `${LEDGER_ADDRESS_SYSTEM}|${form}` }),
    store.searchHash,
    { handling: 'strict', now: store.now().getTime() },
  );
  return store.storage.searchCandidates('Patient', plan.indexFilters, plan.id);
}

/**
 * Where to file a refusal: the Patient the index links to the address, from its metadata row only. Both
 * written forms are always asked and nothing is decrypted, so a refused member's request does the work
 * one about a made-up address does (issue 14 item 5), and the patient still finds it in their history.
 */
async function refusedPatient(store: SealedRecordStore, address: Address): Promise<string | undefined> {
  let found: string | undefined;
  for (const form of [getAddress(address), address.toLowerCase()]) {
    for (const candidate of await ledgerAddressCandidates(store, form))
      if (!candidate.deleted) found ??= candidate.id;
  }
  return found;
}

/** The refusal in words (what the grant does or does not cover), without naming the patient. */
export function identificationRefusal(reason: string, purpose: string): string {
  const purposeWords = PURPOSES_OF_USE[purpose as keyof typeof PURPOSES_OF_USE]?.display ?? purpose;
  switch (reason) {
    case 'not-covered':
      return `the patient's grant to you does not cover ${purposeWords}`;
    case 'revoked':
      return 'the patient revoked their grant to you';
    case 'expired':
      return "the patient's grant to you has expired";
    case 'not-yet-valid':
      return "the patient's grant to you is not in force yet";
    case 'opening-missing':
      return "this member has not received the terms of the patient's grant yet; ask again shortly";
    case 'opening-mismatch':
      return "the terms of the patient's grant held here do not match the ledger";
    case 'delegation-not-in-force':
      return "the proxy who signed the patient's grant no longer acts for them";
    default:
      return `no consent in force: the patient has granted you no records for ${purposeWords}`;
  }
}

/**
 * `Patient/$identify` (issue 22 item 1): another member matches a patient's ledger address to this
 * node's Patient id, as a grant of any category allows (src/access/identification.ts). It learns the
 * id and the categories it may receive, never the Patient's content. An address not known here and a
 * patient who granted the member nothing get the same refusal; both are audited, the second in the
 * patient's access history, like the success.
 */
export async function identifyPatient(
  parts: GatewayParts,
  address: Address,
  context: AccessContext,
): Promise<PatientIdentification> {
  const entity = 'Patient/$identify';
  const requester = await parts.gate.admit('operation', context, { entity, resourceType: 'Patient' });
  if (requester.kind !== 'member') {
    return parts.gate.refuse('operation', context, {
      entity,
      reason: 'identification by ledger address is for other members; search instead',
    });
  }
  // The grant first (it depends on the address alone): who has none opens nothing of this node's.
  const decision = await parts.gate.identify(requester, context, address);
  const patientId = decision.allowed
    ? await findPatientByLedgerAddress(parts.store, address)
    : await refusedPatient(parts.store, address);
  if (patientId === undefined || !decision.allowed) {
    const reason = decision.allowed ? 'no-grant' : decision.reason;
    await recordDenied(parts.store, 'operation', context, {
      entity: patientId === undefined ? entity : `Patient/${patientId}/$identify`,
      patient: patientId ?? '',
      reason: `no consent in force (${reason})`,
    });
    throw new CareLedgerError('ERR_CONSENT_DENIED', identificationRefusal(reason, context.purpose), {
      details: { reason },
    });
  }
  await parts.store.commit([], {
    interaction: 'operation',
    context,
    entity: `Patient/${patientId}/$identify`,
    patient: patientId,
  });
  return { patientId, address: getAddress(address), categories: decision.categories };
}
