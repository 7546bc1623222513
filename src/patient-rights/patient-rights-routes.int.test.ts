/**
 * /patient-rights over a real vault (SQLite, envelope encryption, transparency log), in-process HTTP:
 * amendment requests accepted and denied (history shows both), the accounting of disclosures, the
 * printable record, messages with their per-user read state, appointment and refill requests, and
 * the patient kept to their own compartment.
 */
import type {
  AuditEvent,
  Bundle,
  Communication,
  List,
  Observation,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestVault, type TestVault } from '../../test/support/open-test-vault.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { toErrorResponse } from '../http/error-response.js';
import { createPatientRightsRoutes } from './patient-rights-routes.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const researcher: AccessContext = { who: 'Practitioner/dr-2', purpose: 'HRESCH', roles: ['clinician'] };
const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };

let vault: TestVault;
let app: Hono;
let annId: string;
let benId: string;
let obsId: string;
let rxId: string;
let ann: AccessContext;
let ben: AccessContext;
/** Whom the next request comes from (the route's authenticate reads it). */
let caller: AccessContext;

async function call(method: string, path: string, as: AccessContext, body?: unknown): Promise<Response> {
  caller = as;
  return app.request(path, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  app = new Hono();
  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error);
    return c.json(body, status as 400);
  });
  app.route(
    '/patient-rights',
    createPatientRightsRoutes({
      repository: vault.repo,
      authenticate: async () => caller,
      organization: 'Riverside General Hospital',
      nameOf: async (ref) => (ref === `Organization/${LAB}` ? 'Lakeside Laboratory' : undefined),
      now: () => vault.clock.now,
    }),
  );
  const create = async (r: Resource) => (await vault.repo.create(r, clinician)).id as string;
  annId = await create({ resourceType: 'Patient', name: [{ given: ['Ann'], family: 'Lee' }] });
  benId = await create({ resourceType: 'Patient', name: [{ family: 'Other' }] });
  ann = { who: `Patient/${annId}`, purpose: 'PATRQT' };
  ben = { who: `Patient/${benId}`, purpose: 'PATRQT' };
  obsId = await create({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    effectiveDateTime: '2026-11-01T09:00:00Z',
    valueQuantity: { value: 72.4453, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    subject: { reference: `Patient/${annId}` },
  } as Observation);
  rxId = await create({
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'Lisinopril 10 mg tablet' },
    subject: { reference: `Patient/${annId}` },
    authoredOn: '2026-10-01',
  } as Resource);
});

afterAll(() => vault?.close());

describe('amendment requests (45 CFR 164.526)', () => {
  it('are filed by the patient as a Task and accepted as a new version of the record', async () => {
    const res = await call('POST', '/patient-rights/amendments', ann, {
      focus: `Observation/${obsId}`,
      reason: 'The heart rate was taken after running; please note it.',
    });
    expect(res.status).toBe(201);
    const task = (await res.json()) as Task;
    expect(task.status).toBe('requested');
    expect(task.for?.reference).toBe(`Patient/${annId}`);
    expect(task.focus?.reference).toBe(`Observation/${obsId}`);

    const current = (await vault.repo.read('Observation', obsId, clinician)) as Observation;
    const amended = { ...current, note: [{ text: 'Taken after exercise.' }] };
    const decided = await call('POST', `/patient-rights/amendments/${task.id}/decision`, clinician, {
      decision: 'accept',
      amended,
    });
    expect(decided.status, JSON.stringify(await decided.clone().json())).toBe(200);
    const outcome = (await decided.json()) as { task: Task; recordVersion: string };
    expect(outcome.task.status).toBe('completed');
    expect(outcome.task.owner?.reference).toBe('Practitioner/dr-1');
    expect(outcome.recordVersion).toBe(`Observation/${obsId}/_history/2`);
    const history = await vault.repo.history('Observation', obsId, ann);
    expect(history.length).toBe(2);
    const newest = (history[0] as { resource?: Observation }).resource;
    expect(newest?.note?.[0]?.text).toBe('Taken after exercise.');
    expect(JSON.stringify(newest?.extension)).toContain(`Task/${task.id}`);

    // A decided request cannot be decided again.
    const again = await call('POST', `/patient-rights/amendments/${task.id}/decision`, clinician, {
      decision: 'deny',
      reason: 'no',
    });
    expect(again.status).toBe(412);
  });

  it('are denied with a reason and the right to disagree, linked from the record', async () => {
    const task = (await (
      await call('POST', '/patient-rights/amendments', ann, {
        focus: `Observation/${obsId}`,
        reason: 'Remove it.',
      })
    ).json()) as Task;
    const res = await call('POST', `/patient-rights/amendments/${task.id}/decision`, clinician, {
      decision: 'deny',
      reason: 'The record is accurate and complete.',
    });
    const { task: denied } = (await res.json()) as { task: Task };
    expect(denied.status).toBe('rejected');
    expect(denied.statusReason?.text).toBe('The record is accurate and complete.');
    expect(denied.note?.at(-1)?.text).toMatch(/statement disagreeing/);
    const own = (await vault.repo.read('Task', task.id as string, ann)) as Task;
    expect(own.status).toBe('rejected');
    expect((await vault.repo.history('Observation', obsId, ann)).length).toBe(3);
  });

  it('are refused when a patient decides, or asks about another patient', async () => {
    const patientDecides = await call('POST', '/patient-rights/amendments/x1/decision', ann, {
      decision: 'deny',
    });
    expect(patientDecides.status).toBe(403);
    const foreign = await call('POST', '/patient-rights/amendments', ben, {
      focus: `Observation/${obsId}`,
      reason: 'not mine',
    });
    // Ben's Task is his own; the record it points at stays hidden from him.
    expect([201, 403]).toContain(foreign.status);
    const missing = await call('POST', '/patient-rights/amendments', ann, { focus: 'nonsense' });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(await missing.json())).not.toContain('Ann');
  });
});

describe('accounting of disclosures (45 CFR 164.528)', () => {
  it('lists reads outside treatment, payment and operations, and every member fetch, with names', async () => {
    await vault.repo.read('Observation', obsId, clinician); // treatment here: not listed
    // Refused reads (no grant for research, none for the lab) are not disclosures either.
    await vault.repo.read('Observation', obsId, researcher).catch(() => undefined);
    await vault.repo.read('Observation', obsId, lab).catch(() => undefined);
    const res = await call('GET', '/patient-rights/disclosures', ann);
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as Bundle;
    const list = bundle.entry?.[0]?.resource as List;
    expect(list.resourceType).toBe('List');
    const events = (bundle.entry ?? []).slice(1).map((e) => e.resource as AuditEvent);
    const who = events.map((e) => e.agent?.[0]?.who?.reference);
    expect(who).not.toContain('Practitioner/dr-1');
    expect(who).not.toContain(`Patient/${annId}`);
    expect(who).not.toContain(`Organization/${LAB}`);
    expect(list.emptyReason?.text).toBe('No disclosures in the last six years');

    const html = await (await call('GET', '/patient-rights/disclosures?format=html', ann)).text();
    expect(html).toContain('Accounting of disclosures');
    expect(html).toContain('Ann Lee');
    expect(html).not.toContain('<script');
  });

  it("is the patient's own: another patient gets their own, not Ann's", async () => {
    const res = await call('GET', `/patient-rights/disclosures?patient=${annId}`, ben);
    const bundle = (await res.json()) as Bundle;
    expect((bundle.entry?.[0]?.resource as List | undefined)?.subject?.reference).toBe(`Patient/${benId}`);
  });
});

describe('printable record', () => {
  it('reads in words: dates, rounded values, sections', async () => {
    const res = await call('GET', '/patient-rights/record', ann);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('Health record of Ann Lee');
    expect(html).toContain('Heart rate');
    expect(html).toContain('72.4 /min');
    expect(html).toContain('1 Nov 2026');
    expect(html).toContain('Lisinopril 10 mg tablet');
    expect(html).toContain('@media print');
  });
});

describe('messages, appointments and refills', () => {
  it('threads replies and counts unread messages per user', async () => {
    const sent = (await (
      await call('POST', '/patient-rights/messages', ann, { text: 'Can I take ibuprofen?' })
    ).json()) as Communication;
    expect(sent.sender?.reference).toBe(`Patient/${annId}`);
    const forClinician = (await (
      await call('GET', `/patient-rights/messages/unread?patient=${annId}`, clinician)
    ).json()) as { unread: number };
    expect(forClinician.unread).toBe(1);
    await vault.repo.read('Communication', sent.id as string, clinician);
    const afterRead = (await (
      await call('GET', `/patient-rights/messages/unread?patient=${annId}`, clinician)
    ).json()) as { unread: number };
    expect(afterRead.unread).toBe(0);

    const reply = await vault.repo.create(
      {
        resourceType: 'Communication',
        status: 'completed',
        subject: { reference: `Patient/${annId}` },
        sender: { reference: 'Practitioner/dr-1' },
        recipient: [{ reference: `Patient/${annId}` }],
        inResponseTo: [{ reference: `Communication/${sent.id}` }],
        payload: [{ contentString: 'Yes, with food.' }],
      } as Communication,
      clinician,
    );
    const forAnn = (await (await call('GET', '/patient-rights/messages/unread', ann)).json()) as {
      unread: number;
      ids: string[];
    };
    expect(forAnn).toEqual({ unread: 1, ids: [reply.id] });
    // A patient cannot write as someone else.
    const forged = await vault.repo
      .create({ ...reply, id: undefined, sender: { reference: 'Practitioner/dr-1' } } as Resource, ann)
      .then(
        () => 'stored',
        (e: { code?: string }) => e.code,
      );
    expect(forged).toBe('ERR_FORBIDDEN');
  });

  it('proposes an appointment and asks for a refill of an active prescription', async () => {
    const appointment = await call('POST', '/patient-rights/appointments', ann, {
      reason: 'Blood pressure review',
      start: '2026-12-01T09:30:00Z',
    });
    expect(appointment.status).toBe(201);
    expect(((await appointment.json()) as { status: string }).status).toBe('proposed');
    const past = await call('POST', '/patient-rights/appointments', ann, {
      reason: 'x',
      start: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(400);
    const refill = await call('POST', '/patient-rights/refills', ann, {
      medicationRequest: `MedicationRequest/${rxId}`,
    });
    expect(refill.status).toBe(201);
    expect(((await refill.json()) as Task).code?.coding?.[0]?.code).toBe('refill-request');
    // The patient may not book (status booked) through the FHIR API either.
    const booked = await vault.repo
      .create(
        {
          resourceType: 'Appointment',
          status: 'booked',
          start: '2026-12-02T09:00:00Z',
          end: '2026-12-02T09:30:00Z',
          participant: [{ actor: { reference: `Patient/${annId}` }, status: 'accepted' }],
        } as Resource,
        ann,
      )
      .then(
        () => 'stored',
        (e: { code?: string }) => e.code,
      );
    expect(booked).toBe('ERR_FORBIDDEN');
  });
});
