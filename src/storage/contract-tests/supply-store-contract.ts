import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type {
  CaptureJob,
  DispenseRecord,
  EpcisEventFilter,
  StoredEpcisEvent,
  SupplyStore,
} from '../../supply/storage/supply-store.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const SGTIN = 'https://id.gs1.org/01/09506000134352/21/';

function event(n: number, overrides: Partial<StoredEpcisEvent> = {}): StoredEpcisEvent {
  const second = String(n).padStart(2, '0');
  return {
    eventHash: `ni:///sha-256;${String(n).padStart(4, '0')}?ver=CBV2.0`,
    eventType: 'ObjectEvent',
    eventTime: `2026-12-01T08:00:${second}.000Z`,
    recordTime: `2026-12-02T08:00:${second}.000Z`,
    epcs: [{ role: 'epc', epc: `${SGTIN}S${n}` }],
    logIndex: n,
    json: JSON.stringify({ n }),
    ...overrides,
  };
}

const dispense = (pack: string, overrides: Partial<DispenseRecord> = {}): DispenseRecord => ({
  packKey: pack,
  lotKey: 'lot-a',
  medicationDispenseId: `md-${pack}`,
  patientId: 'patient-1',
  dispensedAt: '2026-12-03T10:00:00.000Z',
  ...overrides,
});

/** The supply module's store (decision 0023) on every adapter. */
export function describeSupplyStoreContract(adapter: StorageAdapter): void {
  describe(`SupplyStore contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('an event reads back as stored, its EPCs in the order named; a second capture changes nothing', async () => {
      const full = event(1, {
        eventId: 'urn:uuid:6b7a1e0c-0000-4000-8000-000000000001',
        action: 'ADD',
        bizStep: 'commissioning',
        disposition: 'active',
        bizLocation: 'https://id.gs1.org/414/9506000000007',
        readPoint: 'https://id.gs1.org/414/9506000000007/254/1',
        epcs: [
          { role: 'parent', epc: `${SGTIN}Z` },
          { role: 'child', epc: `${SGTIN}B` },
          { role: 'child', epc: `${SGTIN}A` },
        ],
        logIndex: 2 ** 40,
        json: '{"note":"Präparat ✓"}',
      });
      expect(await under.supply.saveEvent(full)).toBe(true);
      expect(await under.supply.saveEvent(event(2, { epcs: [] }))).toBe(true);
      expect(await under.supply.eventByHash(full.eventHash)).toEqual(full);
      expect(await under.supply.eventByHash(event(2).eventHash)).toEqual(event(2, { epcs: [] }));
      expect(await under.supply.eventByHash('ni:///sha-256;none')).toBeUndefined();
      expect(
        await under.supply.saveEvent({ ...full, logIndex: 9, epcs: [{ role: 'epc', epc: `${SGTIN}X` }] }),
      ).toBe(false);
      expect(await under.supply.eventByHash(full.eventHash)).toEqual(full);
    });

    test('the standard filters, EPC patterns by role, and keyset paging in (recordTime, hash) order', async () => {
      for (let i = 0; i < 6; i++) {
        await under.supply.saveEvent(
          event(i, {
            bizStep: i % 2 === 0 ? 'shipping' : 'receiving',
            action: i < 3 ? 'OBSERVE' : 'ADD',
            ...(i === 5 ? { eventType: 'AggregationEvent', disposition: 'in_transit' } : {}),
            ...(i === 4 ? { epcs: [{ role: 'parent', epc: `${SGTIN}S4` }] } : {}),
          }),
        );
      }
      // Same record time as event 3: the hash breaks the tie.
      await under.supply.saveEvent(event(33, { recordTime: event(3).recordTime, bizStep: 'receiving' }));
      const ns = async (filter: Partial<EpcisEventFilter>) =>
        (await under.supply.queryEvents({ limit: 100, ...filter })).map((e) => JSON.parse(e.json).n);
      expect(await ns({})).toEqual([0, 1, 2, 3, 33, 4, 5]);
      expect(await ns({ bizSteps: ['shipping'] })).toEqual([0, 2, 4]);
      expect(await ns({ bizSteps: ['receiving'], actions: ['ADD'] })).toEqual([3, 5]);
      expect(await ns({ eventTypes: ['AggregationEvent'], dispositions: ['in_transit'] })).toEqual([5]);
      expect(await ns({ eventTimeFrom: event(1).eventTime, eventTimeBefore: event(3).eventTime })).toEqual([
        1, 2,
      ]);
      expect(
        await ns({ recordTimeFrom: event(3).recordTime, recordTimeBefore: event(4).recordTime }),
      ).toEqual([3, 33]);
      expect(await ns({ epcMatches: [{ roles: ['epc'], patterns: [`${SGTIN}S3`] }] })).toEqual([3]);
      expect(await ns({ epcMatches: [{ roles: ['epc'], patterns: [`${SGTIN}S4`] }] })).toEqual([]);
      expect(await ns({ epcMatches: [{ roles: ['parent', 'child'], patterns: [`${SGTIN}S4`] }] })).toEqual([
        4,
      ]);
      expect(await ns({ epcMatches: [{ roles: ['epc', 'parent'], patterns: [`${SGTIN}*`] }] })).toEqual([
        0, 1, 2, 3, 33, 4, 5,
      ]);
      expect(await ns({ epcMatches: [{ roles: ['epc'], patterns: [`${SGTIN}S3*`, `${SGTIN}S0`] }] })).toEqual(
        [0, 3, 33],
      );
      // A prefix is literal (no LIKE wildcards inside it) and case-sensitive (GS1 serials are).
      expect(await ns({ epcMatches: [{ roles: ['epc'], patterns: [`${SGTIN}s*`] }] })).toEqual([]);
      expect(await ns({ epcMatches: [{ roles: ['epc'], patterns: [`${SGTIN}_3*`] }] })).toEqual([]);
      expect(await ns({ epcMatches: [{ roles: ['epc'], patterns: ['https://id.gs1.org/01/%*'] }] })).toEqual(
        [],
      );
      expect(
        await ns({
          bizSteps: ['receiving'],
          epcMatches: [
            { roles: ['epc'], patterns: [`${SGTIN}*`] },
            { roles: ['epc'], patterns: [`${SGTIN}S3*`] },
          ],
        }),
      ).toEqual([3, 33]);
      const first = await under.supply.queryEvents({ limit: 4 });
      expect(first.map((e) => JSON.parse(e.json).n)).toEqual([0, 1, 2, 3]);
      const last = first.at(-1) as StoredEpcisEvent;
      expect(
        await ns({ limit: 2, after: { recordTime: last.recordTime, eventHash: last.eventHash } }),
      ).toEqual([33, 4]);
    });

    test('a pack is claimed for one dispense only; a release frees it for that dispense only', async () => {
      const store = under.supply;
      expect(await store.claimDispense(dispense('pack-1', { prescriber: 'Practitioner/dr-1' }))).toBe(true);
      expect(await store.claimDispense(dispense('pack-1', { medicationDispenseId: 'md-other' }))).toBe(false);
      expect(
        await store.claimDispense(
          dispense('pack-2', { dispensedAt: '2026-12-03T09:00:00.000Z', patientId: 'p2' }),
        ),
      ).toBe(true);
      await store.claimDispense(dispense('pack-3', { lotKey: 'lot-b' }));
      expect(await store.dispensesOfPack('pack-1')).toEqual([
        dispense('pack-1', { prescriber: 'Practitioner/dr-1' }),
      ]);
      expect((await store.dispensesOfLot('lot-a')).map((d) => [d.packKey, d.patientId])).toEqual([
        ['pack-2', 'p2'],
        ['pack-1', 'patient-1'],
      ]);
      await store.releaseDispense('pack-1', 'md-other');
      expect(await store.dispensesOfPack('pack-1')).toHaveLength(1);
      await store.releaseDispense('pack-1', 'md-pack-1');
      expect(await store.dispensesOfPack('pack-1')).toEqual([]);
      expect(await store.claimDispense(dispense('pack-1', { medicationDispenseId: 'md-other' }))).toBe(true);
      expect(await store.dispensesOfLot('lot-none')).toEqual([]);
      // An implanted device claims its unit the same way, and says so.
      const implant = dispense('udi-1', { resourceType: 'Device', medicationDispenseId: 'device-1' });
      expect(await store.claimDispense(implant)).toBe(true);
      expect(await store.dispensesOfPack('udi-1')).toEqual([implant]);
      expect((await store.dispensesOfPack('pack-2'))[0]).not.toHaveProperty('resourceType');
    });

    test('two processes claiming one pack, or capturing one event, at once: exactly one wins', async () => {
      const other = under.otherSupply();
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? under.supply : other).claimDispense(
            dispense('pack-9', { medicationDispenseId: `md-${i}` }),
          ),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await other.dispensesOfPack('pack-9')).toHaveLength(1);
      const captures = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? under.supply : other).saveEvent(event(7))),
      );
      expect(captures.filter(Boolean)).toHaveLength(1);
      expect(await under.supply.eventByHash(event(7).eventHash)).toEqual(event(7));
    });

    test('capture jobs: replaced by id, read back whole, listed in (createdAt, id) order after a key', async () => {
      const store = under.supply;
      const running: CaptureJob = {
        captureID: 'c-2',
        createdAt: '2026-12-05T10:00:00.000Z',
        running: true,
        success: false,
        captureErrorBehaviour: 'rollback',
        eventIDs: [],
        errors: [],
      };
      await store.saveCaptureJob(running);
      expect(await store.captureJob('c-2')).toEqual(running);
      const finished: CaptureJob = {
        ...running,
        finishedAt: '2026-12-05T10:00:01.000Z',
        running: false,
        success: false,
        captureErrorBehaviour: 'proceed',
        eventIDs: ['urn:uuid:1', 'ni:///sha-256;ab'],
        errors: [
          { code: 'ERR_INVALID_INPUT', message: 'event 1: no eventTime', reason: 'event-time', event: 1 },
        ],
      };
      await store.saveCaptureJob(finished);
      expect(await store.captureJob('c-2')).toEqual(finished);
      await store.saveCaptureJob({ ...running, captureID: 'c-1', running: false, success: true });
      await store.saveCaptureJob({ ...running, captureID: 'c-0', createdAt: '2026-12-05T11:00:00.000Z' });
      expect(await store.captureJob('c-9')).toBeUndefined();
      expect((await store.captureJobs(10)).map((j) => [j.captureID, j.running, j.success])).toEqual([
        ['c-1', false, true],
        ['c-2', false, false],
        ['c-0', true, false],
      ]);
      expect(
        (await store.captureJobs(1, { createdAt: running.createdAt, captureId: 'c-1' })).map(
          (j) => j.captureID,
        ),
      ).toEqual(['c-2']);
    });

    test('recall follower passes never overlap, whichever process runs them', async () => {
      const stores = [under.supply, under.otherSupply()];
      const trace: string[] = [];
      // Each pass reads and moves the cursor: overlapping passes would interleave and lose moves.
      const passes = Array.from({ length: 6 }, (_, i) =>
        (stores[i % 2] as SupplyStore).followExclusively(async () => {
          trace.push('in');
          const store = stores[i % 2] as SupplyStore;
          const at = (await store.followCursor()) ?? 0;
          await store.saveFollowCursor(at + 1);
          trace.push('out');
          return i;
        }),
      );
      expect(await Promise.all(passes)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(trace.join(' ')).toBe(Array.from({ length: 6 }, () => 'in out').join(' '));
      expect(await under.supply.followCursor()).toBe(6);
      // A failing pass fails its caller with its own error and lets the next one run.
      const failing = under.supply.followExclusively(async () => {
        throw new RangeError('chain unreachable');
      });
      await expect(failing).rejects.toThrow(RangeError);
      expect(await under.supply.followExclusively(async () => 'next')).toBe('next');
    });

    test('recalls handled and the chain cursor are remembered, the latest write winning', async () => {
      const store = under.supply;
      expect(await store.recallHandled('lot:abc@0x01')).toBeUndefined();
      await store.saveRecallHandled({
        recallId: 'lot:abc@0x01',
        patients: 2,
        handledAt: '2026-12-04T00:00:00.000Z',
      });
      await store.saveRecallHandled({
        recallId: 'lot:abc@0x01',
        patients: 3,
        handledAt: '2026-12-04T00:01:00.000Z',
      });
      expect(await store.recallHandled('lot:abc@0x01')).toEqual({
        recallId: 'lot:abc@0x01',
        patients: 3,
        handledAt: '2026-12-04T00:01:00.000Z',
      });
      expect(await store.followCursor()).toBeUndefined();
      await store.saveFollowCursor(41);
      await store.saveFollowCursor(2 ** 33);
      expect(await under.otherSupply().followCursor()).toBe(2 ** 33);
    });
  });
}
