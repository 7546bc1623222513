import type { Device } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { udiOfDevice } from './udi-of-device.js';

// The FDA GUDID's GS1 example UDI (device identifier 00844588003288), with a production date added.
const DI = '00844588003288';
const HRF = `(01)${DI}(11)141120(17)301120(10)7654321D(21)10987654d321`;
const NOW = new Date('2026-12-07T00:00:00Z');
const GS1 = 'http://hl7.org/fhir/NamingSystem/gs1-di';

const device = (extra: Partial<Device> = {}, carrier: Record<string, unknown> = {}): Device => ({
  resourceType: 'Device',
  udiCarrier: [{ deviceIdentifier: DI, issuer: GS1, carrierHRF: HRF, ...carrier }],
  patient: { reference: 'Patient/p1' },
  ...extra,
});

const reason = (d: Device) => {
  try {
    udiOfDevice(d, NOW);
  } catch (error) {
    return (error as { details?: { reason?: string } }).details?.reason;
  }
  return undefined;
};

describe('the GS1 UDI of a FHIR Device', () => {
  it('reads the device identifier and the production identifiers AI 11, 17, 10 and 21', () => {
    expect(udiOfDevice(device(), NOW)).toEqual({
      gtin: DI,
      serial: '10987654d321',
      lot: '7654321D',
      expiry: '2030-11-20',
      productionDate: '2014-11-20',
    });
  });

  it('reads the scanned barcode (carrierAIDC, FNC1 as ASCII 29) and the Device elements without a carrier form', () => {
    const aidc = Buffer.from(`]d201${DI}1730112010LOT7\u001d21SN9`, 'latin1').toString('base64');
    expect(udiOfDevice(device({}, { carrierHRF: undefined, carrierAIDC: aidc }), NOW)).toEqual({
      gtin: DI,
      serial: 'SN9',
      lot: 'LOT7',
      expiry: '2030-11-20',
    });
    expect(
      udiOfDevice(
        device(
          { serialNumber: 'SN1', lotNumber: 'L1', expirationDate: '2031-01-31' },
          { carrierHRF: undefined },
        ),
        NOW,
      ),
    ).toEqual({ gtin: DI, serial: 'SN1', lot: 'L1', expiry: '2031-01-31' });
  });

  it('names no GS1 unit for a device without a UDI or with a HIBCC one (out of scope)', () => {
    expect(udiOfDevice({ resourceType: 'Device' }, NOW)).toBeUndefined();
    expect(
      udiOfDevice(
        device(
          {},
          {
            issuer: 'http://hl7.org/fhir/NamingSystem/hibcc-dI',
            carrierHRF: '+H123PARTNO1/$$420020216LOT123/SXYZ',
          },
        ),
        NOW,
      ),
    ).toBeUndefined();
  });

  it('refuses a bad check digit, a device identifier that contradicts the carrier, and disagreeing elements', () => {
    expect(reason(device({}, { deviceIdentifier: '00844588003289' }))).toBe('gtin-check-digit');
    expect(reason(device({}, { deviceIdentifier: '09506000134352' }))).toBe('udi-di-mismatch');
    expect(reason(device({ serialNumber: 'OTHER' }))).toBe('udi-pi-mismatch');
    expect(reason(device({ expirationDate: '2031-01-01' }))).toBe('udi-pi-mismatch');
    expect(reason(device({ manufactureDate: '2014-11-20T09:00:00Z' }))).toBeUndefined();
    expect(reason(device({}, { carrierHRF: `(01)${DI}(21)bad serial` }))).toBe('gs1-character-set');
    expect(
      reason(device({ udiCarrier: [device().udiCarrier?.[0] ?? {}, device().udiCarrier?.[0] ?? {}] })),
    ).toBe('udi-several');
  });
});
