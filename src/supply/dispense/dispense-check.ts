/**
 * The check at the pharmacy counter (issue 19 item 5): before a MedicationDispense whose Medication
 * names a pack is stored, the pack is verified; a counterfeit, recalled, expired, suspect or already
 * dispensed pack is refused with a 422 (ERR_UNPROCESSABLE, `details.reason` = the verdict). A good pack
 * is claimed here and marked dispensed on the ledger through the outbox before the record is written:
 * only the pack's keyed hash reaches the chain, never the patient.
 *
 * A cloned serial (already dispensed) and a pack dispensed after its recall are also sent to the
 * ledger's `dispense`, which flags the pack suspect there instead of dispensing it again.
 *
 * A medical device (issue 19 item 7) is checked the same way when a FHIR Device with a serialized GS1
 * UDI is recorded on a patient (an implant): same verdicts, same claim, same ledger `dispense`.
 */
import type { Device, Medication, MedicationDispense, Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { BeforeWriteOptions, WritePermit } from '../../vault/before-write.js';
import { udiOfDevice } from '../device/udi-of-device.js';
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

/** What a record hands to a patient: the unit, who gets it, who hears of its recall. */
interface UnitToCheck {
  readonly pack: PackIdentity;
  readonly resourceType: 'MedicationDispense' | 'Device';
  /** `Patient/<id>` as the record names it. */
  readonly subject: string | undefined;
  readonly prescriber: () => Promise<string | undefined>;
  /** Where the OperationOutcome points. */
  readonly expression: string;
}

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

  /** The tracked unit a resource hands to a patient, or undefined when it hands none (passes untouched). */
  async function unitOf(
    resource: Resource,
    context: AccessContext,
    bundle: readonly Resource[],
  ): Promise<UnitToCheck | undefined> {
    if (resource.resourceType === 'MedicationDispense') {
      const dispense = resource as MedicationDispense;
      if (
        dispense.status !== undefined &&
        dispense.status !== 'completed' &&
        dispense.status !== 'in-progress'
      ) {
        return undefined;
      }
      const medication = await medicationOf(dispense, context, bundle);
      const pack = medication === undefined ? undefined : packOfMedication(medication, now());
      if (pack === undefined) return undefined;
      return {
        pack,
        resourceType: 'MedicationDispense',
        subject: dispense.subject?.reference,
        prescriber: () => prescriberOf(dispense, context),
        expression: 'MedicationDispense.medicationReference',
      };
    }
    if (resource.resourceType === 'Device') {
      // Issue 19 item 7: a device recorded on a patient (an implant) is handed out like a pack.
      const device = resource as Device;
      if (
        device.patient === undefined ||
        device.status === 'entered-in-error' ||
        device.status === 'inactive'
      )
        return undefined;
      let udi: ReturnType<typeof udiOfDevice>;
      try {
        udi = udiOfDevice(device, now());
      } catch (error) {
        // A UDI the node cannot read, or that contradicts the Device: refused only for a product the
        // consortium tracks. A hospital records (and imports) devices from every manufacturer; an
        // untracked one is stored as it is, unverified (Synthea's devices have random UDIs).
        if (await isTracked(looseUdiOf(device))) throw error;
        return undefined;
      }
      if (udi?.serial === undefined) return undefined;
      const { productionDate: _, ...pack } = udi;
      return {
        pack: { ...pack, serial: udi.serial },
        resourceType: 'Device',
        subject: device.patient.reference,
        // The clinician recording the implant hears of its recall (a device has no prescription).
        prescriber: async () => (context.who.startsWith('Practitioner/') ? context.who : undefined),
        expression: 'Device.udiCarrier',
      };
    }
    return undefined;
  }

  /**
   * Runs before any version of a resource is written (create, update, PATCH, transaction entry).
   * Anything but a MedicationDispense naming a pack or a Device with a serialized GS1 UDI on a patient
   * passes untouched (undefined), and so does a new version of a record that already holds this unit's
   * claim; a refused unit throws; a good one returns the permit of its claim.
   */
  return async function checkDispense(
    resource: Resource,
    context: AccessContext,
    options: BeforeWriteOptions = {},
  ): Promise<DispensePermit | undefined> {
    const unit = await unitOf(resource, context, options.bundle ?? []);
    if (unit === undefined) return undefined;
    const { pack } = unit;
    const recordId = resource.id ?? '';
    const packKey = packKeyOf(deps.key, pack.gtin, pack.serial);
    const claims = await deps.store.dispensesOfPack(packKey);
    if (resource.id !== undefined && claims.some((d) => d.medicationDispenseId === resource.id)) {
      return undefined; // an update of the record that took this unit: already checked and claimed
    }
    const verdict = await deps.verify(pack, deps.ledger.self);
    // A device of a product the consortium does not track (its lot was never commissioned here) is
    // not a counterfeit of one it does: it is stored unverified, and nothing is claimed.
    if (
      unit.resourceType === 'Device' &&
      verdict.verdict === 'no-match-gtin-serial' &&
      !(await isTracked({ gtin: pack.gtin, ...(pack.lot === undefined ? {} : { lot: pack.lot }) }))
    ) {
      return undefined;
    }
    const patientId =
      unit.subject?.startsWith('Patient/') === true ? unit.subject.slice('Patient/'.length) : undefined;
    if (verdict.verdict === 'verified' && patientId === undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `a ${unit.resourceType} of a serialized unit names its patient`,
      );
    }
    // A unit this member never received (still with the wholesaler, or diverted) is not its to hand out.
    const notOwner = verdict.verdict === 'verified' && verdict.state?.owner !== deps.ledger.self;
    const claimed =
      verdict.verdict === 'verified' &&
      !notOwner &&
      (await deps.store.claimDispense({
        packKey,
        lotKey: verdict.state?.lot ?? lotKeyOf(deps.key, pack.gtin, pack.lot ?? ''),
        medicationDispenseId: recordId,
        ...(unit.resourceType === 'MedicationDispense' ? {} : { resourceType: unit.resourceType }),
        patientId: patientId as string,
        ...(await unit.prescriber().then((p) => (p === undefined ? {} : { prescriber: p }))),
        dispensedAt: now().toISOString(),
      }));
    if (!claimed) {
      const reason = notOwner
        ? 'not-owner'
        : verdict.verdict === 'verified'
          ? 'already-dispensed'
          : verdict.verdict;
      await flagOnLedger(reason, verdict);
      const what = unit.resourceType === 'Device' ? 'device' : 'pack';
      throw new CareLedgerError(
        'ERR_UNPROCESSABLE',
        `the ${what} may not be ${what === 'device' ? 'implanted' : 'dispensed'}: ${reason.replaceAll('-', ' ')}`,
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
                expression: [unit.expression],
              },
            ],
          },
        },
      );
    }
    const release = () => deps.store.releaseDispense(packKey, recordId);
    return {
      confirm: async () => {
        await deps.ledger.dispense(packKey);
      },
      release,
    };
  };

  /** Whether the consortium tracks this unit's product: its pack or its lot was commissioned. */
  async function isTracked(unit: { gtin?: string; lot?: string; serial?: string }): Promise<boolean> {
    const { gtin, lot, serial } = unit;
    if (gtin === undefined) return false;
    try {
      if (serial !== undefined && (await deps.ledger.pack(packKeyOf(deps.key, gtin, serial)))) return true;
      return lot !== undefined && (await deps.ledger.lotKnown(lotKeyOf(deps.key, gtin, lot)));
    } catch (error) {
      // A GTIN with a wrong check digit was never commissioned: nothing tracks it.
      if (error instanceof CareLedgerError && error.code === 'ERR_INVALID_INPUT') return false;
      throw error;
    }
  }

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

/**
 * The GTIN, lot and serial a Device names, read without checking anything (digits as written), to
 * ask whether the consortium tracks the product of a UDI that does not parse.
 */
function looseUdiOf(device: Device): { gtin?: string; lot?: string; serial?: string } {
  const carrier = device.udiCarrier?.[0];
  const hrf = carrier?.carrierHRF ?? '';
  const ai = (code: string) => new RegExp(`\\(${code}\\)([^(]+)`).exec(hrf)?.[1]?.trim();
  const gtin = ai('01') ?? carrier?.deviceIdentifier;
  const lot = ai('10') ?? device.lotNumber;
  const serial = ai('21') ?? device.serialNumber;
  return {
    ...(gtin !== undefined && /^\d{14}$/.test(gtin) ? { gtin } : {}),
    ...(lot === undefined ? {} : { lot }),
    ...(serial === undefined ? {} : { serial }),
  };
}
