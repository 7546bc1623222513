import type { Resource } from '@medplum/fhirtypes';
import { type Address, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { isCareLedgerError } from '../../errors/index.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';
import { ageBandOf, evaluateFeasibility, parseFeasibilityQuery, type ResearchSearch } from './feasibility.js';

const TODAY = new Date('2026-12-07T12:00:00Z');
const STUDY = keccak256(toHex('study'));

function patient(id: string, gender: string, birthDate: string): Resource {
  return { resourceType: 'Patient', id, gender, birthDate } as Resource;
}
function condition(patientId: string, code: string): Resource {
  return {
    resourceType: 'Condition',
    id: `c-${patientId}-${code}`,
    subject: { reference: `Patient/${patientId}` },
    code: { coding: [{ system: 'http://snomed.info/sct', code }] },
  } as Resource;
}

/**
 * What the vault shows each research grantee (it has already applied consent): 12 women in their
 * fifties and 3 men in their forties with diabetes joined research in general; 2 more women joined
 * the study only.
 */
const visible = new Map<string, Resource[]>([
  [
    GENERAL_RESEARCH_ADDRESS.toLowerCase(),
    [
      ...Array.from({ length: 12 }, (_, i) => patient(`f${i}`, 'female', '1972-03-01')),
      ...Array.from({ length: 3 }, (_, i) => patient(`m${i}`, 'male', '1981-06-30')),
      ...Array.from({ length: 12 }, (_, i) => condition(`f${i}`, '44054006')),
      ...Array.from({ length: 3 }, (_, i) => condition(`m${i}`, '44054006')),
    ],
  ],
  [
    studyGrantee(STUDY).toLowerCase(),
    [
      patient('s1', 'female', '1970-01-01'),
      patient('s2', 'female', '1970-01-01'),
      condition('s1', '44054006'),
    ],
  ],
]);

const searched: string[] = [];
const search: ResearchSearch = async (grantee: Address, resourceType, query) => {
  searched.push(`${grantee === GENERAL_RESEARCH_ADDRESS ? 'general' : 'study'} ${resourceType}?${query}`);
  const code = query.get('code')?.split('|').at(-1);
  const gender = query.get('gender');
  return (visible.get(grantee.toLowerCase()) ?? []).filter(
    (r) =>
      r.resourceType === resourceType &&
      (code === undefined ||
        (r as { code?: { coding?: { code?: string }[] } }).code?.coding?.[0]?.code === code) &&
      (gender === null || (r as { gender?: string }).gender === gender),
  );
};

describe('feasibility counts', () => {
  it('counts consenting patients by criteria and suppresses cells below k', async () => {
    const query = parseFeasibilityQuery(
      {
        resourceType: 'Condition',
        code: 'http://snomed.info/sct|44054006',
        groupBy: ['sex', 'ageBand'],
        k: 5,
      },
      5,
    );
    const answer = await evaluateFeasibility(search, query, TODAY);
    expect(answer).toEqual({
      k: 5,
      total: 15,
      cells: [
        // 15 − 12 would give the suppressed 3 back: the 12 is suppressed as its complement.
        { sex: 'female', ageBand: '50-59', count: null },
        { sex: 'male', ageBand: '40-49', count: null },
      ],
    });
    expect(searched).toEqual([
      'general Condition?code=http%3A%2F%2Fsnomed.info%2Fsct%7C44054006',
      'general Patient?',
    ]);
  });

  it('adds the patients who joined the named study, and filters by sex and age band', async () => {
    const query = parseFeasibilityQuery({ sex: 'female', ageBand: '50-59', studyId: STUDY }, 5);
    const answer = await evaluateFeasibility(search, query, TODAY);
    expect(answer).toEqual({ k: 5, total: 14, cells: [] });
    const few = parseFeasibilityQuery({ sex: 'male', k: 5 }, 5);
    expect((await evaluateFeasibility(search, few, TODAY)).total).toBeNull();
  });

  it('refuses a k below the minimum and anything but the simple criteria', () => {
    const refused = (body: Record<string, unknown>) => {
      try {
        parseFeasibilityQuery(body, 5);
      } catch (error) {
        return isCareLedgerError(error) ? error.details.field : 'other';
      }
      return undefined;
    };
    expect(refused({ k: 2 })).toBe('k');
    expect(refused({ code: 'x|y' })).toBe('code');
    expect(refused({ resourceType: 'Patient/1' })).toBe('resourceType');
    expect(refused({ groupBy: ['postalCode'] })).toBe('groupBy');
    expect(refused({ sex: 'F' })).toBe('sex');
  });

  it('bands ages by ten years, 90 and over together', () => {
    expect(ageBandOf('1972-03-01', TODAY)).toBe('50-59');
    expect(ageBandOf('1976-12-08', TODAY)).toBe('40-49');
    expect(ageBandOf('1930', TODAY)).toBe('90+');
    expect(ageBandOf(undefined, TODAY)).toBeUndefined();
  });
});
