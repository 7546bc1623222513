/**
 * The check at the pharmacy counter (issue 19 item 5): before a MedicationDispense whose Medication
 * names a pack is stored, the pack is verified; a counterfeit, recalled, expired, suspect or already
 * dispensed pack is refused with a 422 (ERR_UNPROCESSABLE, `details.reason` = the verdict). A good pack
 * is claimed here and marked dispensed on the ledger through the outbox before the record is written:
 * only the pack's keyed hash reaches the chain, never the patient.
 *
 * A cloned serial (already dispensed) and a pack dispensed after its recall are also sent to the
 * ledger's `dispense`, which flags the pack suspect there instead of dispensing it again.
 */
import type { Medication, MedicationDispense, Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { BeforeWriteOptions, WritePermit } from '../../vault/before-write.js';
import { lotKeyOf, packKeyOf, type SupplyKey } from '../ledger/supply-keys.js';
import type { SupplyLedger } from '../ledger/supply-ledger.js';
import type { SupplyStore } from '../storage/supply-store.js';
import type { PackIdentity, VerificationResponse } from '../verify/verify-pack.js';
import { medicationOfDispense, packOfMedication } from './pack-of-medication.js';

export interface DispenseCheckDeps {
  readonly ledger: SupplyLedger;
  readonly key: SupplyKey;
  readonly store: SupplyStore;
  readonly verify: (pack: PackIdentity, asker: Address) => Promise<VerificationResponse>;
  /** Reads a resource the dispense refers to, as the dispensing user (access-checked, audited). */
  readonly read: (resourceType: string, id: string, context: AccessContext) => Promise<Resource>;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

/**
 * A good pack's claim: `confirm` puts the ledger's dispense in the outbox (just before the record is
 * written), `release` drops the local claim if the record is then not written (the ledger write, once
 * confirmed, stands).
 */
export type DispensePermit = WritePermit;

export function createDispenseCheck(deps: DispenseCheckDeps) {
  const now = deps.now ?? (() => new Date());

  async function medicationOf(
    dispense: MedicationDispense,
    context: AccessContext,
    bundle: readonly Resource[],
  ): Promise<Medication | undefined> {
    const named = medicationOfDispense(dispense);
    if (named === undefined) return undefined;
    if ('contained' in named) return named.contained;
    const id = named.reference.slice('Medication/'.length);
    // A Medication written in the same transaction is read from it, not from the vault.
    const inBundle = bundle.find((r) => r.resourceType === 'Medication' && r.id === id);
    return (inBundle ?? (await deps.read('Medication', id, context))) as Medication;
  }

  async function prescriberOf(
    dispense: MedicationDispense,
    context: AccessContext,
  ): Promise<string | undefined> {
    const reference = dispense.authorizingPrescription?.[0]?.reference;
    if (reference === undefined || !/^MedicationRequest\/[A-Za-z0-9\-.]{1,64}$/.test(reference))
      return undefined;
    try {
      const request = await deps.read(
        'MedicationRequest',
        reference.slice('MedicationRequest/'.length),
        context,
      );
      const requester = (request as { requester?: { reference?: string } }).requester?.reference;
      return requester?.startsWith('Practitioner/') === true ? requester : undefined;
    } catch {
      // The prescription is not readable here: the recall then reaches the patient only.
      return undefined;
    }
  }

  /**
   * Runs before any version of a resource is written (create, update, PATCH, transaction entry).
   * Anything but a MedicationDispense naming a pack passes untouched (undefined), and so does a new
   * version of a dispense that already holds this pack's claim; a refused pack throws; a good one
   * returns the permit of its claim.
   */
  return async function checkDispense(
    resource: Resource,
    context: AccessContext,
    options: BeforeWriteOptions = {},
  ): Promise<DispensePermit | undefined> {
    if (resource.resourceType !== 'MedicationDispense') return undefined;
    const dispense = resource as MedicationDispense;
    if (
      dispense.status !== undefined &&
      dispense.status !== 'completed' &&
      dispense.status !== 'in-progress'
    ) {
      return undefined;
    }
    const medication = await medicationOf(dispense, context, options.bundle ?? []);
    const pack = medication === undefined ? undefined : packOfMedication(medication, now());
    if (pack === undefined) return undefined;
    const packKey = packKeyOf(deps.key, pack.gtin, pack.serial);
    const claims = await deps.store.dispensesOfPack(packKey);
    if (dispense.id !== undefined && claims.some((d) => d.medicationDispenseId === dispense.id)) {
      return undefined; // an update of the dispense that took this pack: already checked and claimed
    }
    const verdict = await deps.verify(pack, deps.ledger.self);
    const patient = dispense.subject?.reference;
    const patientId = patient?.startsWith('Patient/') === true ? patient.slice('Patient/'.length) : undefined;
    if (verdict.verdict === 'verified' && patientId === undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a dispense of a serialized pack names its patient (subject)',
      );
    }
    // A pack this pharmacy never received (still with the wholesaler, or diverted) is not its to dispense.
    const notOwner = verdict.verdict === 'verified' && verdict.state?.owner !== deps.ledger.self;
    const claimed =
      verdict.verdict === 'verified' &&
      !notOwner &&
      (await deps.store.claimDispense({
        packKey,
        lotKey: verdict.state?.lot ?? lotKeyOf(deps.key, pack.gtin, pack.lot ?? ''),
        medicationDispenseId: dispense.id ?? '',
        patientId: patientId as string,
        ...(await prescriberOf(dispense, context).then((p) => (p === undefined ? {} : { prescriber: p }))),
        dispensedAt: now().toISOString(),
      }));
    if (!claimed) {
      const reason = notOwner
        ? 'not-owner'
        : verdict.verdict === 'verified'
          ? 'already-dispensed'
          : verdict.verdict;
      await flagOnLedger(reason, verdict);
      throw new CareLedgerError(
        'ERR_UNPROCESSABLE',
        `the pack may not be dispensed: ${reason.replaceAll('-', ' ')}`,
        {
          details: {
            reason,
            verified: verdict.data.verified,
            // A second issue carries the verdict as a code a pharmacy system can switch on.
            issues: [
              {
                severity: 'error',
                code: 'business-rule',
                diagnostics: `supply-verdict: ${reason}`,
                expression: ['MedicationDispense.medicationReference'],
              },
            ],
          },
        },
      );
    }
    const release = () => deps.store.releaseDispense(packKey, dispense.id ?? '');
    return {
      confirm: async () => {
        await deps.ledger.dispense(packKey);
      },
      release,
    };
  };

  /** Leaves evidence on chain for a clone or a dispense after a recall (best effort: the refusal stands). */
  async function flagOnLedger(reason: string, verdict: VerificationResponse): Promise<void> {
    if (verdict.state === undefined) return;
    try {
      if (reason === 'already-dispensed' || reason === 'recalled') await deps.ledger.dispense(verdict.pack);
      else if (reason === 'lot-mismatch' || reason === 'expiry-mismatch' || reason === 'lot-expiry-mismatch')
        await deps.ledger.flagSuspect(verdict.pack);
    } catch (error) {
      deps.log?.(
        `supply: could not flag pack ${verdict.pack.slice(0, 12)}… suspect: ${(error as Error).message}`,
      );
    }
  }
}
