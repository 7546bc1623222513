/**
 * The supply chain (issue 19, decision 0023) on three in-process members (manufacturer, wholesaler,
 * pharmacy) over the embedded chain: EPCIS events captured per second (observations, which are hashed,
 * logged and stored; and commissioning events, whose packs are also written to SupplyChain and mined),
 * product verifications per second with p50/p99, beside this run's raw chain write rate through a
 * node's outbox and the SQLite commit rate; and the recall fan-out time for a lot dispensed to 1,000
 * patients (`--size supply=<patients>`). Callers are named by the development identity header, so
 * SMART token verification is not in the figures.
 */
import { randomBytes } from 'node:crypto';
import type { RunningNode } from '../../src/node/start-node.js';
import { formatSgtinUri } from '../../src/supply/gs1/index.js';
import { lotKeyOf, packKeyOf } from '../../src/supply/index.js';
import { startSupplyConsortium } from '../../test/support/start-supply-consortium.js';
import { costRatio, durationRatio, percentile, rateRatio } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const GTIN = '09506000134352';
const STAFF = { 'x-careledger-identity': 'Practitioner/bench', 'x-careledger-roles': 'clinician' };
const BLOCK_TIME_SECONDS = 1;
let clock = 0;

const document = (events: unknown[]) => ({
  '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: new Date().toISOString(),
  epcisBody: { eventList: events },
});
const objectEvent = (serials: readonly string[], extra: Record<string, unknown>) => ({
  type: 'ObjectEvent',
  // A distinct time per event: no two events hash alike.
  eventTime: new Date(Date.UTC(2026, 0, 1) + clock++ * 1000).toISOString(),
  eventTimeZoneOffset: '+00:00',
  epcList: serials.map((serial) => formatSgtinUri(GTIN, serial)),
  action: 'OBSERVE',
  ...extra,
});

async function call(node: RunningNode, path: string, body: unknown, type = 'application/json') {
  const response = await node.app.request(path, {
    method: 'POST',
    headers: { ...STAFF, 'content-type': type },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export const supplyGroup: Group = {
  name: 'supply',
  description: 'supply chain: EPCIS capture, product verification, recall fan-out to 1,000 patients',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const quick = ctx.options.quick;
    const sqliteCommit = await ctx.limit('limits.sqlite.commit');
    ctx.progress('supply: starting manufacturer, wholesaler and pharmacy on the embedded chain');
    const c = await startSupplyConsortium();
    const unregister = ctx.onInterrupt(() => c.stop());
    const figures: Figure[] = [];
    try {
      const maker = c.manufacturer.supply;
      const pharmacy = c.pharmacy.supply;
      if (maker === undefined || pharmacy === undefined) throw new Error('no supply module');

      // Raw chain write rate: SupplyChain writes through one node's outbox, submitted at once, mined.
      const writes = quick ? 100 : 400;
      const lot = lotKeyOf(c.supplyKey, GTIN, 'RAW');
      const t0 = performance.now();
      const entries = [];
      for (let i = 0; i < writes; i++) {
        entries.push(await maker.ledger.commission(`0x${randomBytes(32).toString('hex')}`, lot, 301231));
      }
      await c.manufacturer.ledger.outbox.drain(300_000);
      const chainRate = writes / ((performance.now() - t0) / 1000);
      const chainFigure: Figure = {
        group: 'supply',
        id: 'supply.chain.write',
        label: `chain write rate: ${writes} SupplyChain.commission through the outbox, mined`,
        value: chainRate,
        unit: 'tx/s',
        ratios: [],
        note: 'embedded anvil, 1 s blocks; the reference for the capture figures below',
      };
      figures.push(chainFigure);

      // EPCIS observations: hash, log append, store (no ledger write).
      ctx.progress('supply: capturing EPCIS observations');
      const observations = quick ? 200 : 1000;
      const perDocument = 10;
      const t1 = performance.now();
      for (let i = 0; i < observations / perDocument; i++) {
        await call(
          c.manufacturer,
          '/epcis/capture',
          document(
            Array.from({ length: perDocument }, (_, j) =>
              objectEvent([`O${i}-${j}`], { bizStep: 'inspecting' }),
            ),
          ),
        );
      }
      const observationRate = observations / ((performance.now() - t1) / 1000);
      figures.push({
        group: 'supply',
        id: 'supply.capture.observe',
        label: `EPCIS events captured, observations (${perDocument} per document: hash, log entry, stored)`,
        value: observationRate,
        unit: 'events/s',
        ratios: [rateRatio(observationRate, sqliteCommit, 'SQLite single-commit rate')],
      });

      // Commissioning events: each event's packs written to SupplyChain and mined before the next.
      ctx.progress('supply: capturing commissioning events (ledger writes, mined)');
      const commissionings = quick ? 5 : 20;
      const packsPerEvent = 10;
      const t2 = performance.now();
      await call(
        c.manufacturer,
        '/epcis/capture',
        document(
          Array.from({ length: commissionings }, (_, i) =>
            objectEvent(
              Array.from({ length: packsPerEvent }, (_, j) => `V${i}-${j}`),
              {
                action: 'ADD',
                bizStep: 'commissioning',
                ilmd: { 'cbvmda:lotNumber': 'LV', 'cbvmda:itemExpirationDate': '2031-12-31' },
              },
            ),
          ),
        ),
      );
      const commissionSeconds = (performance.now() - t2) / 1000;
      figures.push({
        group: 'supply',
        id: 'supply.capture.commission',
        label: `EPCIS commissioning events captured (${packsPerEvent} packs each, written and mined per event)`,
        value: commissionings / commissionSeconds,
        unit: 'events/s',
        extra: { packsPerSecond: Number(((commissionings * packsPerEvent) / commissionSeconds).toFixed(1)) },
        ratios: [
          rateRatio(
            (commissionings * packsPerEvent) / commissionSeconds,
            chainFigure,
            "this run's chain write rate (packs/s against tx/s)",
          ),
          durationRatio(commissionSeconds / commissionings, BLOCK_TIME_SECONDS, 'block time per event'),
        ],
      });

      // Verification at the pharmacy: sequential latency, then 8 concurrent callers' rate.
      ctx.progress('supply: verifying packs');
      const verifications = quick ? 200 : 1000;
      const latency: number[] = [];
      for (let i = 0; i < verifications; i++) {
        const start = performance.now();
        await call(c.pharmacy, '/supply/verify', {
          datamatrix: `(01)${GTIN}(17)311231(10)LV(21)V${i % commissionings}-${i % packsPerEvent}`,
        });
        latency.push(performance.now() - start);
      }
      const concurrent = 8;
      const t3 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrent }, async () => {
          while (next < verifications) {
            const i = next++;
            await call(c.pharmacy, '/supply/verify', {
              gtin: GTIN,
              serial: `V${i % commissionings}-0`,
              lot: 'LV',
            });
          }
        }),
      );
      const verifyRate = verifications / ((performance.now() - t3) / 1000);
      figures.push(
        {
          group: 'supply',
          id: 'supply.verify.latency',
          label:
            'POST /supply/verify (DataMatrix parsed, pack state, lot flag and history read from the chain)',
          value: percentile(latency, 50),
          p99: percentile(latency, 99),
          unit: 'ms',
          extra: { requests: verifications },
          ratios: [],
        },
        {
          group: 'supply',
          id: 'supply.verify.rate',
          label: `verification requests per second (${concurrent} concurrent callers)`,
          value: verifyRate,
          unit: 'req/s',
          ratios: [rateRatio(verifyRate, chainFigure, "this run's chain write rate")],
          note: 'read-only: no SQLite commit and no chain write per verification',
        },
      );

      // Recall fan-out: a lot dispensed to N patients at the pharmacy, recalled by the manufacturer.
      const patients = ctx.options.sizes?.supply ?? 1000;
      ctx.progress(`supply: ${patients} patients with a dispensed pack of lot LR`);
      const recallLot = lotKeyOf(c.supplyKey, GTIN, 'LR');
      await maker.ledger.confirmed(
        await maker.ledger.commission(packKeyOf(c.supplyKey, GTIN, 'R-0'), recallLot, 311231),
      );
      for (let i = 0; i < patients; i++) {
        const patient = await call(
          c.pharmacy,
          '/fhir/Patient',
          { resourceType: 'Patient', name: [{ family: `Recall${i}` }] },
          'application/fhir+json',
        );
        // The dispense rows a pharmacy's dispense check leaves (seeded directly: the fan-out is measured).
        await pharmacy.store.claimDispense({
          packKey: packKeyOf(c.supplyKey, GTIN, `R-${i}`),
          lotKey: recallLot,
          medicationDispenseId: `bench-${i}`,
          patientId: patient.id as string,
          dispensedAt: new Date().toISOString(),
        });
      }
      await pharmacy.stop(); // the test drives the follower itself
      ctx.progress('supply: recalling the lot and timing the fan-out');
      await maker.ledger.confirmed(await maker.ledger.recallLot(recallLot));
      const t4 = performance.now();
      await pharmacy.recalls.follow();
      const fanOutSeconds = (performance.now() - t4) / 1000;
      figures.push({
        group: 'supply',
        id: 'supply.recall.fanout',
        label: `recall fan-out at the pharmacy: lot dispensed to ${patients} patients (Communication + portal notice each, count reported)`,
        value: fanOutSeconds,
        unit: 's',
        extra: { patients, msPerPatient: Number(((fanOutSeconds * 1000) / patients).toFixed(2)) },
        ratios: [costRatio(fanOutSeconds / patients, sqliteCommit, 'SQLite single-commit time per patient')],
      });
    } finally {
      unregister();
      await c.stop();
    }
    return {
      figures,
      charts: [],
      notes: [
        "supply: capture with ledger writes waits for each event's block (decision 0023), so its rate is bounded by the block time, not by the node.",
      ],
    };
  },
};
