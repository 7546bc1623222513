import type { AuditEvent } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { createAuditEvent } from '../audit/create-audit-event.js';
import { accountDisclosures, disclosuresAsBundle, isDisclosure } from './disclosure-accounting.js';
import { disclosureReportHtml } from './printable-html.js';

const LAB = '0x00000000000000000000000000000000000000bB';
const observer = { display: 'Riverside General Hospital', origin: 'test.example/log' };
const now = new Date('2026-12-07T12:00:00Z');

function event(
  who: string,
  purpose: string,
  recorded: string,
  extra: { outcome?: 'success' | 'denied'; entity?: string; onBehalfOf?: string; purposeText?: string } = {},
): AuditEvent {
  return {
    ...createAuditEvent({
      interaction: 'read',
      context: { who, purpose, ...(extra.onBehalfOf === undefined ? {} : { onBehalfOf: extra.onBehalfOf }) },
      entity: extra.entity ?? 'Observation/o1/_history/1',
      patient: 'Patient/p1',
      outcome: extra.outcome ?? 'success',
      observer,
      recorded,
      ...(extra.purposeText === undefined ? {} : { purposeText: extra.purposeText }),
    }),
    id: `${who}-${recorded}`,
  };
}

const names = async (ref: string) => (ref === `Organization/${LAB}` ? 'Lakeside Laboratory' : undefined);

describe('accounting of disclosures', () => {
  const events = [
    event('Practitioner/dr-1', 'TREAT', '2026-12-01T10:00:00Z'),
    event('Practitioner/dr-1', 'HOPERAT', '2026-12-01T10:05:00Z'),
    event('Patient/p1', 'PATRQT', '2026-12-01T10:06:00Z'),
    event('Practitioner/dr-2', 'PUBHLTH', '2026-12-02T08:00:00Z'),
    event('Practitioner/dr-2', 'HRESCH', '2026-12-02T09:00:00Z', { outcome: 'denied' }),
    event(`Organization/${LAB}`, 'TREAT', '2026-12-03T15:48:00Z', {
      entity: 'Patient/p1/$everything',
      onBehalfOf: `Practitioner/${LAB}`,
    }),
    event('Practitioner/dr-3', 'HLEGAL', '2020-12-06T23:59:00Z'),
    event('Practitioner/dr-3', 'HLEGAL', '2020-12-07T12:00:01Z', { purposeText: 'court order 12' }),
  ];

  it('keeps reads outside TPO and member fetches over six years, newest first, with names and words', async () => {
    const rows = await accountDisclosures(events, { patientReference: 'Patient/p1', now, nameOf: names });
    expect(rows.map((r) => [r.date.slice(0, 10), r.recipient, r.purpose, r.disclosed])).toEqual([
      ['2026-12-03', 'Lakeside Laboratory', 'treatment', 'your whole record'],
      ['2026-12-02', 'a member of staff (unnamed)', 'public health', 'a result or measurement'],
      ['2020-12-07', 'a member of staff (unnamed)', 'legal proceedings', 'a result or measurement'],
    ]);
    expect(rows[2]?.statedReason).toBe('court order 12');
  });

  it('never lists treatment here, the patient, or a refusal', () => {
    expect(isDisclosure(events[0] as AuditEvent, 'Patient/p1')).toBe(false);
    expect(isDisclosure(events[2] as AuditEvent, 'Patient/p1')).toBe(false);
    expect(isDisclosure(events[4] as AuditEvent, 'Patient/p1')).toBe(false);
  });

  it('is FHIR (a List and the AuditEvents) and printable HTML without ids', async () => {
    const rows = await accountDisclosures(events, { patientReference: 'Patient/p1', now, nameOf: names });
    const bundle = disclosuresAsBundle(rows, { patientReference: 'Patient/p1', now });
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'List',
      'AuditEvent',
      'AuditEvent',
      'AuditEvent',
    ]);
    const html = disclosureReportHtml(rows, { patientName: 'Ann <Lee>', organization: 'Riverside', now });
    expect(html).toContain('Lakeside Laboratory');
    expect(html).toContain('3 Dec 2026, 15:48');
    expect(html).toContain('Ann &#60;Lee&#62;');
    expect(html).not.toContain(LAB);
  });
});
