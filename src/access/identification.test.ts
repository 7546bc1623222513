import { describe, expect, it } from 'vitest';
import { encodeCategories, encodePurposes } from '../ledger/index.js';
import type { ConsentDecision, ConsentQuery } from './consent-check.js';
import { evaluateIdentification, IDENTIFYING_CATEGORIES } from './identification.js';
import { evaluateVisibleCompartments } from './visible-compartments.js';

const PATIENT = '0x0000000000000000000000000000000000000a01' as const;
const MEMBER = '0x00000000000000000000000000000000000000Aa' as const;

/** A consent check over one grant: these categories, for treatment only, or one refusal for all. */
function grantOf(categories: string[], refusal?: ConsentDecision & { allowed: false }) {
  const asked: ConsentQuery[] = [];
  const check = async (query: ConsentQuery): Promise<ConsentDecision> => {
    asked.push(query);
    if (refusal !== undefined) return refusal;
    const covered =
      categories.some((c) => encodeCategories([c]) === query.category) &&
      query.purpose === encodePurposes(['TREAT']);
    return covered
      ? { allowed: true, grantId: '0x01', via: 'grantee' }
      : { allowed: false, reason: 'not-covered' };
  };
  return { check, asked };
}

const query = { patient: PATIENT, grantee: MEMBER, purpose: 'TREAT', at: 1_000 };

describe('evaluateIdentification (issue 22 item 1: a lab-only grant)', () => {
  it('lets a member holding a lab-only grant identify the patient, and names what the grant covers', async () => {
    const { check } = grantOf(['laboratory']);
    expect(await evaluateIdentification(check, query)).toEqual({
      allowed: true,
      categories: ['laboratory'],
      grantId: '0x01',
    });
  });

  it('lists every covered category in the ledger order', async () => {
    const { check } = grantOf(['medications', 'demographics', 'laboratory']);
    const decision = await evaluateIdentification(check, query);
    expect(decision.allowed && decision.categories).toEqual(['demographics', 'medications', 'laboratory']);
  });

  it('refuses a purpose the grant does not cover, as not covered', async () => {
    const { check } = grantOf(['laboratory']);
    expect(await evaluateIdentification(check, { ...query, purpose: 'HRESCH' })).toEqual({
      allowed: false,
      reason: 'not-covered',
    });
  });

  it('asks once when there is no grant at all', async () => {
    const { check, asked } = grantOf([], { allowed: false, reason: 'no-grant' });
    expect(await evaluateIdentification(check, query)).toEqual({ allowed: false, reason: 'no-grant' });
    expect(asked.length).toBe(1);
  });

  it('prefers the telling reason: a revoked grant over not covered', async () => {
    let n = 0;
    const check = async (): Promise<ConsentDecision> =>
      n++ === 5 ? { allowed: false, reason: 'revoked' } : { allowed: false, reason: 'not-covered' };
    expect(await evaluateIdentification(check, query)).toEqual({ allowed: false, reason: 'revoked' });
    expect(n).toBe(IDENTIFYING_CATEGORIES.length);
  });
});

describe('the Patient compartment for another member', () => {
  it('is open to a member whose grant covers laboratory only (the Patient itself still needs Demographics)', async () => {
    const { check } = grantOf(['laboratory']);
    const scope = await evaluateVisibleCompartments(
      { kind: 'member', address: MEMBER },
      { who: `Organization/${MEMBER}`, purpose: 'TREAT', member: MEMBER },
      'Patient',
      { consent: check, grantingPatients: async () => [PATIENT], now: new Date(1_000_000) },
    );
    expect(scope).toEqual({ all: false, patientIds: [], ledgerAddresses: [PATIENT], noPatient: false });
  });
});
