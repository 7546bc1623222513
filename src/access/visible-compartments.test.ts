import { describe, expect, it } from 'vitest';
import { encodeCategories } from '../ledger/index.js';
import type { ConsentQuery } from './consent-check.js';
import {
  evaluateVisibleCompartments,
  type GrantIndex,
  listGrantingPatients,
} from './visible-compartments.js';

const MEMBER = '0x00000000000000000000000000000000000000Aa' as const;
const ORG = '0x00000000000000000000000000000000000000Bb' as const;
const ANN = '0x0000000000000000000000000000000000000a01' as const;
const BEN = '0x0000000000000000000000000000000000000b02' as const;
const CAL = '0x0000000000000000000000000000000000000c03' as const;
const NOW = 1_000;

function grant(
  patient: `0x${string}`,
  window: Partial<{ revokedAt: number; notBefore: number; notAfter: number }> = {},
) {
  return {
    patient,
    revokedAt: window.revokedAt ?? null,
    notBefore: window.notBefore ?? 0,
    notAfter: window.notAfter ?? 2_000,
  };
}

const index = (practitioner?: {
  organization: `0x${string}`;
  revoked: boolean;
  expiresAt: number;
}): GrantIndex => ({
  grants: async ({ grantee }) =>
    grantee === MEMBER
      ? [grant(ANN), grant(BEN, { revokedAt: 500 }), grant(CAL, { notBefore: 1_500 })]
      : grantee === ORG
        ? [grant(CAL)]
        : [],
  practitioner: async () => practitioner,
  member: async () => ({ status: 'active' }),
});

describe('listGrantingPatients', () => {
  it('lists the patients whose grant is not revoked and in its window, reading no terms', async () => {
    expect(await listGrantingPatients(index(), MEMBER, NOW)).toEqual([ANN]);
  });

  it('adds the grants to the organization that attests the grantee, as evaluateConsent counts them', async () => {
    const attested = index({ organization: ORG, revoked: false, expiresAt: 2_000 });
    expect(await listGrantingPatients(attested, MEMBER, NOW)).toEqual([ANN, CAL]);
    const lapsed = index({ organization: ORG, revoked: false, expiresAt: 900 });
    expect(await listGrantingPatients(lapsed, MEMBER, NOW)).toEqual([ANN]);
  });
});

describe('evaluateVisibleCompartments', () => {
  const asked: ConsentQuery[] = [];
  const consent = async (query: ConsentQuery) => {
    asked.push(query);
    // Ann granted laboratory only.
    return query.patient === ANN && query.category === encodeCategories(['laboratory'])
      ? ({ allowed: true, grantId: '0x01', via: 'grantee' } as const)
      : ({ allowed: false, reason: 'not-covered' } as const);
  };
  const options = { consent, grantingPatients: async () => [ANN, BEN], now: new Date(NOW * 1000) };
  const member = { kind: 'member', address: MEMBER } as const;
  const treat = { who: `Organization/${MEMBER}`, purpose: 'TREAT', member: MEMBER };

  it('gives another member the patients whose grant covers a category the type always carries', async () => {
    expect(await evaluateVisibleCompartments(member, treat, 'Observation', options)).toEqual({
      all: false,
      patientIds: [],
      ledgerAddresses: [ANN],
      noPatient: false,
    });
    // An Observation is vital signs, laboratory, imaging, procedures or clinical notes by its category
    // (decision 0049): each asked, one grant enough.
    expect(asked.filter((q) => q.patient === BEN).map((q) => q.category)).toEqual([
      encodeCategories(['vital-signs']),
      encodeCategories(['laboratory']),
      encodeCategories(['imaging']),
      encodeCategories(['procedures']),
      encodeCategories(['clinical-notes']),
    ]);
    expect((await evaluateVisibleCompartments(member, treat, 'Condition', options)).all).toBe(false);
  });

  it('leaves directory types open to a member and AuditEvents closed', async () => {
    expect(await evaluateVisibleCompartments(member, treat, 'Practitioner', options)).toEqual({ all: true });
    expect(await evaluateVisibleCompartments(member, treat, 'AuditEvent', options)).toMatchObject({
      all: false,
      ledgerAddresses: [],
    });
  });

  it("gives a patient their own compartment and staff every one (AuditEvents: the privacy officer's)", async () => {
    const patient = { kind: 'patient', patientId: 'p1' } as const;
    expect(await evaluateVisibleCompartments(patient, treat, 'Observation', options)).toMatchObject({
      all: false,
      patientIds: ['p1'],
    });
    const clinician = { kind: 'staff', roles: ['clinician'] } as const;
    expect(await evaluateVisibleCompartments(clinician, treat, 'Observation', options)).toEqual({
      all: true,
    });
    expect((await evaluateVisibleCompartments(clinician, treat, 'AuditEvent', options)).all).toBe(false);
    const officer = { kind: 'staff', roles: ['privacy-officer'] } as const;
    expect(await evaluateVisibleCompartments(officer, treat, 'AuditEvent', options)).toEqual({ all: true });
  });
});
