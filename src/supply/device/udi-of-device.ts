/**
 * The GS1 UDI a FHIR R4 Device carries (issue 19 item 7): `Device.udiCarrier` with the GS1 issuer,
 * its device identifier (the GTIN, AI 01) and its production identifiers read from the human-readable
 * form (`carrierHRF`, e.g. `(01)…(11)…(17)…(10)…(21)…`) or from the scanned barcode content
 * (`carrierAIDC`, base64). A unit with a serial (AI 21) is tracked on the ledger exactly like a drug
 * pack (same SGTIN key, same EPCIS events, same SupplyChain contract).
 *
 * Only GS1 is read. A UDI issued by HIBCC or ICCBBA is out of scope (its own data structures, no
 * GTIN): such a Device names no tracked unit here and is written unchecked.
 */
import type { Device, DeviceUdiCarrier } from '@medplum/fhirtypes';
import { CareLedgerError } from '../../errors/index.js';
import { type Gs1ElementString, parseGs1ElementString, parseGtin } from '../gs1/index.js';

/** FHIR R4 Device.udiCarrier.issuer for GS1 (the NamingSystem), and the GS1 OID. */
export const GS1_UDI_ISSUERS: ReadonlySet<string> = new Set([
  'http://hl7.org/fhir/NamingSystem/gs1-di',
  'http://hl7.org/fhir/NamingSystem/gs1',
  'urn:oid:1.3.160',
]);

/** The UDI of one device: its device identifier and production identifiers. */
export interface DeviceUdi {
  readonly gtin: string;
  readonly serial?: string;
  readonly lot?: string;
  /** AI 17, ISO date. */
  readonly expiry?: string;
  /** AI 11, ISO date (or `YYYY-MM`). */
  readonly productionDate?: string;
}

function refuse(reason: string, message: string, expression: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, {
    details: {
      reason,
      issues: [{ severity: 'error', code: 'invalid', diagnostics: message, expression: [expression] }],
    },
  });
}

function isGs1(carrier: DeviceUdiCarrier): boolean {
  if (carrier.issuer !== undefined) return GS1_UDI_ISSUERS.has(carrier.issuer);
  // No issuer: a human-readable form in GS1 brackets is GS1's.
  return carrier.carrierHRF?.trim().startsWith('(01)') === true;
}

function carrierData(carrier: DeviceUdiCarrier, now: Date): Gs1ElementString | undefined {
  if (carrier.carrierHRF !== undefined && carrier.carrierHRF.trim() !== '') {
    return parseGs1ElementString(carrier.carrierHRF, now);
  }
  if (carrier.carrierAIDC !== undefined && carrier.carrierAIDC !== '') {
    return parseGs1ElementString(Buffer.from(carrier.carrierAIDC, 'base64').toString('latin1'), now);
  }
  return undefined;
}

/** The same value from the carrier and from the Device's own element, refused if they differ. */
function agree(
  fromCarrier: string | undefined,
  fromDevice: string | undefined,
  element: string,
): string | undefined {
  if (fromCarrier !== undefined && fromDevice !== undefined && fromCarrier !== fromDevice) {
    refuse('udi-pi-mismatch', `Device.${element} differs from the UDI carrier's`, `Device.${element}`);
  }
  return fromCarrier ?? fromDevice;
}

/**
 * The GS1 UDI of a Device, or undefined when it has none (no udiCarrier, or one of another issuer).
 * A malformed UDI (bad check digit, unknown AI) or one that contradicts the Device's lot, serial or
 * dates is ERR_INVALID_INPUT with the reason.
 */
export function udiOfDevice(device: Device, now: Date = new Date()): DeviceUdi | undefined {
  const carriers = (device.udiCarrier ?? []).filter(isGs1);
  if (carriers.length === 0) return undefined;
  if (carriers.length > 1) {
    refuse('udi-several', 'a Device carries one GS1 UDI, not several', 'Device.udiCarrier');
  }
  const carrier = carriers[0] as DeviceUdiCarrier;
  const data = carrierData(carrier, now);
  const named = carrier.deviceIdentifier === undefined ? undefined : parseGtin(carrier.deviceIdentifier);
  const gtin = data?.gtin ?? named;
  if (gtin === undefined) {
    refuse('udi-missing-di', 'a GS1 UDI names its device identifier (AI 01)', 'Device.udiCarrier');
  }
  if (named !== undefined && named !== gtin) {
    refuse(
      'udi-di-mismatch',
      'udiCarrier.deviceIdentifier differs from the GTIN in the carrier',
      'Device.udiCarrier.deviceIdentifier',
    );
  }
  const serial = agree(data?.serial, device.serialNumber, 'serialNumber');
  const lot = agree(data?.lot, device.lotNumber, 'lotNumber');
  const expiry = agree(data?.expiry, device.expirationDate?.slice(0, 10), 'expirationDate');
  const manufactured = device.manufactureDate?.slice(0, data?.productionDate?.length ?? 10);
  const productionDate = agree(data?.productionDate, manufactured, 'manufactureDate');
  if (serial !== undefined && data?.serial === undefined) {
    // A serial only in Device.serialNumber: checked against GS1's character set like a scanned one.
    parseGs1ElementString(`(01)${gtin}(21)${serial}`, now);
  }
  return {
    gtin,
    ...(serial === undefined ? {} : { serial }),
    ...(lot === undefined ? {} : { lot }),
    ...(expiry === undefined ? {} : { expiry }),
    ...(productionDate === undefined ? {} : { productionDate }),
  };
}
