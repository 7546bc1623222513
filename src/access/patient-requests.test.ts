import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { evaluatePatientWrite, PATIENT_REQUEST_SYSTEM } from './patient-requests.js';

const task = (over: Record<string, unknown>): Resource =>
  ({
    resourceType: 'Task',
    status: 'requested',
    intent: 'proposal',
    code: { coding: [{ system: PATIENT_REQUEST_SYSTEM, code: 'amendment-request' }] },
    for: { reference: 'Patient/p1' },
    requester: { reference: 'Patient/p1' },
    ...over,
  }) as Resource;

describe('what a patient may write', () => {
  it('lets the patient ask, not decide', () => {
    expect(evaluatePatientWrite(task({}), 'p1').allowed).toBe(true);
    expect(evaluatePatientWrite(task({ status: 'completed' }), 'p1').allowed).toBe(false);
    expect(evaluatePatientWrite(task({ requester: { reference: 'Patient/p2' } }), 'p1').allowed).toBe(false);
    expect(evaluatePatientWrite(task({ code: { text: 'other' } }), 'p1').allowed).toBe(false);
  });

  it('lets the patient send messages as themselves and propose appointments only', () => {
    const message = {
      resourceType: 'Communication',
      status: 'completed',
      subject: { reference: 'Patient/p1' },
      sender: { reference: 'Patient/p1' },
    } as Resource;
    expect(evaluatePatientWrite(message, 'p1').allowed).toBe(true);
    expect(
      evaluatePatientWrite({ ...message, sender: { reference: 'Practitioner/d' } } as Resource, 'p1').allowed,
    ).toBe(false);
    const appointment = {
      resourceType: 'Appointment',
      status: 'proposed',
      participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }],
    } as Resource;
    expect(evaluatePatientWrite(appointment, 'p1').allowed).toBe(true);
    expect(evaluatePatientWrite({ ...appointment, status: 'booked' } as Resource, 'p1').allowed).toBe(false);
    expect(
      evaluatePatientWrite({ resourceType: 'Observation', status: 'final' } as Resource, 'p1').allowed,
    ).toBe(false);
  });
});
