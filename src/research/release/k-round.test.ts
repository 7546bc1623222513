/**
 * k across the members of a round (decision 0041): a patient who moved is unique in the union of two
 * members' releases although each member's own classes hold k; the round leaves them out at both.
 */
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { checkKAnonymity, type QuasiIdentifiedRecord } from '../k-anonymity.js';
import { decideKRound, type KRoundEntry, parseKRoundEntries } from './k-round.js';
import { createKRoundPort } from './k-round-client.js';
import { coordinatorOf, KRoundCoordinator } from './k-round-coordinator.js';

const HOSPITAL = '0x1000000000000000000000000000000000000001' as Address;
const LAB = '0x2000000000000000000000000000000000000002' as Address;
const link = (n: number) => n.toString(16).padStart(64, '0');
const record = (key: string, zip3: string): QuasiIdentifiedRecord => ({
  key,
  birthYear: '1980',
  sex: 'female',
  zip3,
});
const classKey = (zip3: string) => JSON.stringify(['1980', 'female', zip3]);

/** Patients 1–2 are in 021 at both members, 3–4 in 018 at both; patient 5 is 021 at the hospital and 018 at the lab. */
const hospital = [
  record('1', '021'),
  record('2', '021'),
  record('3', '018'),
  record('4', '018'),
  record('5', '021'),
];
const lab = [
  record('1', '021'),
  record('2', '021'),
  record('3', '018'),
  record('4', '018'),
  record('5', '018'),
];
const entries = (records: QuasiIdentifiedRecord[]): KRoundEntry[] =>
  records.map((r) => ({ link: link(Number(r.key)), classKey: classKey(r.zip3 as string) }));

describe('decideKRound', () => {
  it('finds the patient each member alone would release: their pair of classes is unique', () => {
    // Each member on its own: every class holds k = 2, nobody is suppressed.
    expect(checkKAnonymity(hospital, 2).suppressed).toEqual([]);
    expect(checkKAnonymity(lab, 2).suppressed).toEqual([]);
    const decisions = decideKRound(
      new Map([
        [HOSPITAL, entries(hospital)],
        [LAB, entries(lab)],
      ]),
      2,
    );
    expect(decisions.get(HOSPITAL)?.suppress).toEqual([link(5)]);
    expect(decisions.get(LAB)?.suppress).toEqual([link(5)]);
    expect(decisions.get(LAB)?.counts).toEqual({
      members: 2,
      patients: 5,
      classes: 3,
      suppressedClasses: 1,
      suppressedPatients: 1,
      smallestReleasedClass: 2,
    });
  });

  it('counts a patient held by one member alone in that member’s class, and refuses a bad k', () => {
    const decisions = decideKRound(new Map([[LAB, entries(lab)]]), 2);
    expect(decisions.get(LAB)?.suppress).toEqual([]);
    expect(() => decideKRound(new Map(), 0)).toThrow(/positive integer/);
  });

  it('parses entries strictly: 64 hex digits of link, a short class key', () => {
    expect(parseKRoundEntries([{ link: link(1), classKey: '[]' }])).toHaveLength(1);
    expect(() => parseKRoundEntries([{ link: 'Patient/1', classKey: '[]' }])).toThrow(/entries/);
    expect(() => parseKRoundEntries({})).toThrow(/entries/);
  });
});

describe('KRoundCoordinator', () => {
  const coordinator = () =>
    new KRoundCoordinator({
      dataMembers: async () => [HOSPITAL, LAB],
      studyK: async () => 2,
      holdMs: 60_000,
    });
  const STUDY = `0x${'ab'.repeat(32)}` as const;

  it('holds the first member until the last sends its entries, then answers each with its own links', async () => {
    const c = coordinator();
    const first = c.submit('round-0001', STUDY, HOSPITAL, entries(hospital));
    const second = await c.submit('round-0001', STUDY, LAB, entries(lab));
    expect(second).toMatchObject({ state: 'decided', decision: { suppress: [link(5)] } });
    expect(await first).toMatchObject({ state: 'decided', members: [HOSPITAL, LAB] });
    // Asking again with the same entries gives the same answer; other entries are refused.
    expect(await c.submit('round-0001', STUDY, LAB, entries(lab))).toMatchObject({ state: 'decided' });
    await expect(c.submit('round-0001', STUDY, LAB, entries(lab.slice(1)))).rejects.toMatchObject({
      details: { reason: 'round-entries-changed' },
    });
  });

  it('refuses a member that holds no data, and another study under the same round', async () => {
    const c = coordinator();
    const stranger = '0x3000000000000000000000000000000000000003' as Address;
    await expect(c.submit('round-0002', STUDY, stranger, [])).rejects.toMatchObject({
      details: { reason: 'not-a-data-member' },
    });
    void c.submit('round-0002', STUDY, HOSPITAL, []);
    await expect(c.submit('round-0002', `0x${'cd'.repeat(32)}`, LAB, [])).rejects.toMatchObject({
      details: { reason: 'round-study-mismatch' },
    });
  });

  it('answers waiting, with how many are missing, when the hold ends first', async () => {
    const c = new KRoundCoordinator({
      dataMembers: async () => [HOSPITAL, LAB],
      studyK: async () => 2,
      holdMs: 0,
    });
    expect(await c.submit('round-0003', STUDY, HOSPITAL, [])).toEqual({ state: 'waiting', missing: 1 });
  });

  it('names the lowest address as coordinator, whatever the order', () => {
    expect(coordinatorOf([LAB, HOSPITAL])).toBe(HOSPITAL);
  });
});

describe('a member waiting for its round', () => {
  it('stops waiting when its export job is stopped, though a member never sent its entries', async () => {
    const port = createKRoundPort({
      self: HOSPITAL,
      // The hospital coordinates (the lowest address) and holds its own request until the lab sends.
      coordinator: new KRoundCoordinator({
        dataMembers: async () => [HOSPITAL, LAB],
        studyK: async () => 2,
        holdMs: 60_000,
      }),
      dataMembers: async () => [
        { address: HOSPITAL, base: 'http://hospital.invalid' },
        { address: LAB, base: 'http://lab.invalid' },
      ],
      token: async () => 'unused',
    });
    const job = new AbortController();
    const waiting = port.decide('round-0004', `0x${'ab'.repeat(32)}`, entries(hospital), job.signal);
    const stopping = new Error('the node is stopping');
    job.abort(stopping);
    await expect(waiting).rejects.toBe(stopping);
  });
});
