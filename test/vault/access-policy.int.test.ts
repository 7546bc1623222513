/**
 * The node's access policy end to end over a real vault: staff roles, ledger consent by data category
 * and sensitivity label, another member's reads, the patient's own view, and break-glass. Search,
 * _include, history and $everything must never reveal a refused resource, nor its count.
 */
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const otherClinician: AccessContext = { who: 'Practitioner/dr-2', purpose: 'TREAT', roles: ['clinician'] };
const registrar: AccessContext = { who: 'Practitioner/reg-1', purpose: 'HOPERAT', roles: ['registrar'] };
const officer: AccessContext = { who: 'Practitioner/po-1', purpose: 'HOPERAT', roles: ['privacy-officer'] };
const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };

let vault: TestVault;
const annKey = privateKeyToAccount(generatePrivateKey());
const benKey = privateKeyToAccount(generatePrivateKey());
const ann = annKey.address;
const ben = benKey.address;
let annId: string;
let benId: string;
let labObs: string;
let hivObs: string;
let benHivObs: string;

const lenient = { handling: 'lenient' } as const;

/** A Patient without its ledger key: the key is linked by enrolment, with its proof of possession. */
function patient(family: string): Resource {
  return { resourceType: 'Patient', name: [{ family }] };
}

function observation(patientId: string, hiv = false): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    ...(hiv
      ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] } }
      : {}),
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: hiv ? '75622-1' : '2345-7' }] },
    subject: { reference: `Patient/${patientId}` },
  } as Resource;
}

async function ids(type: string, query: Record<string, string>, who: AccessContext): Promise<string[]> {
  const found = await vault.repo.search(type, new URLSearchParams(query), who, lenient);
  return found.resources.map((r) => r.id as string).sort();
}

async function total(type: string, query: Record<string, string>, who: AccessContext): Promise<number> {
  const found = await vault.repo.search(
    type,
    new URLSearchParams({ ...query, _total: 'accurate' }),
    who,
    lenient,
  );
  return found.total ?? -1;
}

async function refusal(task: Promise<unknown>): Promise<string> {
  const error = (await task.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; message?: string; details?: { reason?: string } } | undefined;
  return `${error?.code}: ${error?.details?.reason ?? error?.message}`;
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  annId = await createEnrolledPatient(vault.repo, patient('Ann'), annKey, clinician);
  benId = await createEnrolledPatient(vault.repo, patient('Ben'), benKey, clinician);
  labObs = (await vault.repo.create(observation(annId), clinician)).id as string;
  hivObs = (await vault.repo.create(observation(annId, true), clinician)).id as string;
  benHivObs = (await vault.repo.create(observation(benId, true), clinician)).id as string;
  await vault.repo.create(
    { resourceType: 'Condition', subject: { reference: `Patient/${annId}` }, code: { text: 'asthma' } },
    clinician,
  );
});

afterAll(() => vault.close());

describe('the access policy', () => {
  it("shows a clinician ordinary records under TREAT, but a sensitive label only with the patient's grant", async () => {
    expect(await ids('Observation', { subject: `Patient/${annId}` }, clinician)).toEqual([labObs]);
    expect(await total('Observation', { subject: `Patient/${annId}` }, clinician)).toBe(1);
    expect(await refusal(vault.repo.read('Observation', hivObs, clinician))).toBe(
      'ERR_FORBIDDEN: no consent in force (no-grant)',
    );
    vault.grants.add({ patient: ann, grantee: HOSPITAL, categories: ['hiv'], purposes: ['TREAT'] });
    expect(await ids('Observation', { subject: `Patient/${annId}` }, clinician)).toEqual(
      [labObs, hivObs].sort(),
    );
    expect((await vault.repo.read('Observation', hivObs, clinician)).id).toBe(hivObs);
    // Research is not treatment: without a grant for it, nothing is shown.
    expect(
      await ids('Observation', { subject: `Patient/${annId}` }, { ...clinician, purpose: 'HRESCH' }),
    ).toEqual([]);
  });

  it('lets another member read exactly the categories the patient granted it, until revoked', async () => {
    expect(await ids('Observation', {}, lab)).toEqual([]);
    expect(await total('Observation', {}, lab)).toBe(0);
    // Issue 14 item 5: another member learns nothing of a record it may not read: the same 404 as a
    // made-up id, for read and vread; the denial is still in the patient's history.
    expect(await refusal(vault.repo.read('Patient', annId, lab))).toBe(
      `ERR_NOT_FOUND: Patient/${annId} does not exist`,
    );
    expect(await refusal(vault.repo.vread('Patient', annId, 1, lab))).toBe(
      `ERR_NOT_FOUND: Patient/${annId} does not exist`,
    );
    expect(await refusal(vault.repo.read('Patient', 'no-such-patient', lab))).toBe(
      'ERR_NOT_FOUND: Patient/no-such-patient does not exist',
    );
    const denials = (await vault.repo.auditTrail(annId)).filter((r) => r.auditEvent.outcome === '4');
    expect(denials.map((r) => r.auditEvent.subtype?.[0]?.code)).toEqual(
      expect.arrayContaining(['read', 'vread']),
    );
    const grant = vault.grants.add({
      patient: ann,
      grantee: LAB,
      categories: ['laboratory', 'demographics'],
      purposes: ['TREAT'],
    });
    // The HIV-labelled result needs the hiv category too; the Condition needs conditions.
    expect(await ids('Observation', {}, lab)).toEqual([labObs]);
    expect(await ids('Condition', {}, lab)).toEqual([]);
    expect((await vault.repo.read('Patient', annId, lab)).id).toBe(annId);
    expect(await refusal(vault.repo.read('Patient', benId, lab))).toBe(
      `ERR_NOT_FOUND: Patient/${benId} does not exist`,
    );
    // Another purpose is not covered.
    expect(await ids('Observation', {}, { ...lab, purpose: 'HPAYMT' })).toEqual([]);
    // A member never writes into another member's vault.
    expect(await refusal(vault.repo.create(observation(annId), lab))).toBe(
      'ERR_FORBIDDEN: another member may read with consent, not write',
    );
    // $everything and _include keep to the grant.
    const everything = await vault.repo.everything(annId, lab, ['Patient', 'Observation', 'Condition']);
    expect(everything.map((r) => `${r.resourceType}/${r.id}`)).toEqual([
      `Patient/${annId}`,
      `Observation/${labObs}`,
    ]);
    vault.grants.revoke(grant);
    expect(await ids('Observation', {}, lab)).toEqual([]);
  });

  it('keeps a clinical record of no patient (a Group of patients) from other members, even with a grant', async () => {
    const group = await vault.repo.create(
      {
        resourceType: 'Group',
        type: 'person',
        actual: true,
        member: [{ entity: { reference: `Patient/${annId}` } }],
      } as Resource,
      clinician,
    );
    const grant = vault.grants.add({
      patient: ann,
      grantee: LAB,
      categories: ['demographics', 'laboratory'],
      purposes: ['TREAT'],
    });
    expect(await ids('Group', {}, lab)).toEqual([]);
    expect(await ids('Group', {}, clinician)).toContain(group.id);
    vault.grants.revoke(grant);
  });

  it('never includes a resource the requester may not see through _include or _revinclude', async () => {
    const grant = vault.grants.add({
      patient: ben,
      grantee: LAB,
      categories: ['hiv', 'laboratory'],
      purposes: ['TREAT'],
    });
    const found = await vault.repo.search(
      'Observation',
      new URLSearchParams({ _include: 'Observation:subject' }),
      lab,
      lenient,
    );
    expect(found.resources.map((r) => r.id)).toEqual([benHivObs]);
    expect(found.included).toEqual([]); // Ben's Patient resource is demographics, not granted
    const reverse = await vault.repo.search(
      'Patient',
      new URLSearchParams({ _revinclude: 'Observation:subject' }),
      clinician,
      lenient,
    );
    expect(reverse.included.map((r) => r.id)).not.toContain(benHivObs);
    vault.grants.revoke(grant);
  });

  it("shows a patient their whole compartment, sensitive parts included, and nobody else's", async () => {
    const ann_: AccessContext = { who: `Patient/${annId}`, purpose: 'PATRQT' };
    expect(await ids('Observation', {}, ann_)).toEqual([labObs, hivObs].sort());
    expect(await total('Observation', {}, ann_)).toBe(2);
    expect(await refusal(vault.repo.read('Observation', benHivObs, ann_))).toBe(
      `ERR_NOT_FOUND: Observation/${benHivObs} does not exist`,
    );
    expect(
      (await vault.repo.search('AuditEvent', new URLSearchParams(), ann_, lenient)).resources.length,
    ).toBeGreaterThan(0);
    expect(await refusal(vault.repo.create(observation(annId), ann_))).toBe(
      'ERR_FORBIDDEN: a patient may write their own Consent directives only',
    );
  });

  it('limits a registrar to demographics and a privacy officer to the audit trail and whom it concerns', async () => {
    expect((await vault.repo.read('Patient', annId, registrar)).id).toBe(annId);
    // The privacy officer reads who a reviewed access concerns, and writes no demographics.
    expect((await vault.repo.read('Patient', annId, officer)).id).toBe(annId);
    const ann = await vault.repo.read('Patient', annId, officer);
    expect(await refusal(vault.repo.update({ ...ann, gender: 'other' }, officer))).toBe(
      'ERR_FORBIDDEN: this role may read, not write',
    );
    expect(await refusal(vault.repo.read('Observation', labObs, registrar))).toBe(
      'ERR_FORBIDDEN: this staff role does not cover clinical records',
    );
    expect(await refusal(vault.repo.read('Observation', labObs, officer))).toBe(
      'ERR_FORBIDDEN: this staff role does not cover clinical records',
    );
    const audits = await vault.repo.search(
      'AuditEvent',
      new URLSearchParams({ outcome: '4' }),
      officer,
      lenient,
    );
    expect(audits.resources.length).toBeGreaterThan(0); // the refusals above, each recorded
    expect(await ids('AuditEvent', {}, clinician)).toEqual([]);
    expect(
      await refusal(
        vault.repo.create({ resourceType: 'AuditEvent', recorded: '2026-01-01T00:00:00Z' }, clinician),
      ),
    ).toMatch(/^ERR_(FORBIDDEN|INVALID_INPUT)/);
  });

  it('opens a time-boxed, marked break-glass window that must be reviewed afterwards', async () => {
    expect(await refusal(vault.repo.read('Observation', benHivObs, otherClinician))).toBe(
      'ERR_FORBIDDEN: no consent in force (no-grant)',
    );
    expect(
      await refusal(
        vault.repo.declareBreakGlass(benId, 'unconscious in the ED, HIV status needed', otherClinician),
      ),
    ).toBe('ERR_FORBIDDEN: break-glass needs the purpose of use ETREAT');
    const emergency = { ...otherClinician, purpose: 'ETREAT' };
    await expect(vault.repo.declareBreakGlass(benId, 'because', emergency)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(await refusal(vault.repo.declareBreakGlass(benId, 'unconscious in the ED', registrar))).toMatch(
      /^ERR_FORBIDDEN/,
    );
    const session = await vault.repo.declareBreakGlass(
      benId,
      'unconscious in the ED, HIV status needed',
      emergency,
    );
    expect(Date.parse(session.expiresAt) - Date.parse(session.startedAt)).toBe(60 * 60_000);
    expect((await vault.repo.read('Observation', benHivObs, emergency)).id).toBe(benHivObs);

    const trail = await vault.repo.auditTrail(benId);
    const marked = (e: AuditEvent) => e.agent?.[0]?.type?.coding?.[0]?.code;
    const declaration = trail.find((t) => t.auditEvent.id === session.auditEventId)?.auditEvent;
    expect(marked(declaration as AuditEvent)).toBe('110127');
    expect(declaration?.purposeOfEvent?.[0]?.text).toBe('unconscious in the ED, HIV status needed');
    const read = trail.at(-1)?.auditEvent as AuditEvent;
    expect(read.entity?.[0]?.what?.reference).toBe(`Observation/${benHivObs}/_history/1`);
    expect(marked(read)).toBe('110127');

    // Nothing to review while the window is open; once it has closed, the review is owed.
    expect(await vault.repo.listBreakGlass(officer, { unreviewed: true })).toEqual([]);
    vault.clock.now = new Date(vault.clock.now.getTime() + 61 * 60_000);
    expect(await refusal(vault.repo.read('Observation', benHivObs, emergency))).toBe(
      'ERR_FORBIDDEN: no consent in force (no-grant)',
    );
    expect((await vault.repo.listBreakGlass(officer, { unreviewed: true })).map((s) => s.id)).toEqual([
      session.id,
    ]);
    expect(
      (await vault.repo.listBreakGlass({ who: `Patient/${benId}`, purpose: 'PATRQT' }, {})).map((s) => s.id),
    ).toEqual([session.id]);
    await expect(vault.repo.listBreakGlass(clinician, {})).rejects.toThrow(/privacy officer/);
    expect(
      await refusal(vault.repo.reviewBreakGlass(session.id, { outcome: 'justified', note: 'ok' }, clinician)),
    ).toMatch(/^ERR_FORBIDDEN/);
    const reviewed = await vault.repo.reviewBreakGlass(
      session.id,
      { outcome: 'justified', note: 'patient arrived unconscious; access was needed' },
      officer,
    );
    expect(reviewed.review?.outcome).toBe('justified');
    expect(await vault.repo.listBreakGlass(officer, { unreviewed: true })).toEqual([]);
    await expect(
      vault.repo.reviewBreakGlass(session.id, { outcome: 'justified', note: 'again' }, officer),
    ).rejects.toMatchObject({ code: 'ERR_PRECONDITION_FAILED' });
    const review = (await vault.repo.auditTrail(benId)).at(-1)?.auditEvent as AuditEvent;
    expect(marked(review)).toBe('110128');
  });
});
