/**
 * Issue 13's search benchmark: chained (`subject:Patient.name=`), reverse-chained (`_has`),
 * `_include:iterate` and `:in` (a ValueSet stored on the node) searches at 10^3, 10^4 and 10^5 stored
 * resources, each returning the same matches at every size while other patients' records are added
 * around them. The records are seeded straight into the vault's sealed store (export-seed.ts:
 * sealed, logged and blind-indexed as the repository writes them, without HTTP), so 10^5 takes
 * minutes, not hours; the searches go through the repository as a clinician (access decisions, one
 * AuditEvent per search). Prints each search's median and p99 latency per size, its ratio to the
 * smallest size (near 1: the cost follows the matches, not the store), the records it opened, and
 * its time beside this machine's raw AES-GCM rate for the records it opened. `--size
 * search-scale=<largest>` raises or lowers the largest size (`--quick`: 10^4).
 */
import { rmSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { openTestVault } from '../../test/support/open-test-vault.js';
import { formatNumber } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';
import { sealedStoreOf, seedResources } from './export-seed.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const TARGET_CODE = '99999-9';
const VALUE_SET = 'http://bench.careledger.example/ValueSet/target-codes';
/** Matches of the target patient (Observations with the target code). */
const TARGET_MATCHES = 20;
/** Filler: one Patient and this many Observations of other codes, one compartment each. */
const FILLER_OBSERVATIONS = 19;
const SEED_BATCH = 2_000;

function observation(id: string, patient: string, code: string, performer?: string): Resource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    ...(performer === undefined ? {} : { performer: [{ reference: `Practitioner/${performer}` }] }),
    effectiveDateTime: '2026-01-02T03:04:05Z',
    valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
  } as Resource;
}

/** The records of one filler patient: the Patient and its Observations of other codes. */
function filler(n: number): Resource[] {
  const patient = `f${n}`;
  return [
    { resourceType: 'Patient', id: patient, name: [{ family: `Filler${n}`, given: ['Bench'] }] } as Resource,
    ...Array.from({ length: FILLER_OBSERVATIONS }, (_, k) =>
      observation(`f${n}-o${k}`, patient, `1000${k % 7}-${k % 7}`),
    ),
  ];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const QUERIES = [
  {
    id: 'chain',
    label: 'Observation?subject:Patient.name=<family>',
    type: 'Observation',
    query: 'subject:Patient.name=Zyxwvut',
  },
  {
    id: 'has',
    label: 'Patient?_has:Observation:subject:code=<code>',
    type: 'Patient',
    query: `_has:Observation:subject:code=${TARGET_CODE}`,
  },
  {
    id: 'iterate',
    label:
      'Observation?code=<code>&_include=Observation:subject&_include:iterate=Patient:general-practitioner',
    type: 'Observation',
    query: `code=${TARGET_CODE}&_include=Observation:subject&_include:iterate=Patient:general-practitioner`,
  },
  {
    id: 'in',
    label: 'Observation?code:in=<ValueSet stored on the node>',
    type: 'Observation',
    query: `code:in=${VALUE_SET}`,
  },
] as const;

export const searchScaleGroup: Group = {
  name: 'search-scale',
  description:
    'Chained, _has, _include:iterate and :in searches at 10^3, 10^4, 10^5 stored resources seeded into the store (--size search-scale=<largest>)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const largest = ctx.options.sizes?.['search-scale'] ?? (ctx.options.quick ? 10_000 : 100_000);
    const levels = [1_000, 10_000, 100_000, 1_000_000, 10_000_000].filter((n) => n <= largest);
    const rounds = ctx.options.quick ? 5 : 15;
    const aes = await ctx.limit('limits.aes.1k');
    const vault = await openTestVault('0x00000000000000000000000000000000000000Be');
    const cleanup = ctx.onInterrupt(() => vault.close());
    // Records decrypted (or taken from the decrypted-version cache) per search, counted where it happens.
    const opened = { count: 0 };
    const store = sealedStoreOf(vault) as unknown as { open: (v: unknown) => Promise<unknown> };
    const openRecord = store.open.bind(store);
    store.open = (version) => {
      opened.count += 1;
      return openRecord(version);
    };
    try {
      const fixture: Resource[] = [
        {
          resourceType: 'Practitioner',
          id: 'gp',
          name: [{ family: 'Benchmark', given: ['Dana'] }],
        } as Resource,
        {
          resourceType: 'Patient',
          id: 'target',
          name: [{ family: 'Zyxwvut', given: ['Target'] }],
          generalPractitioner: [{ reference: 'Practitioner/gp' }],
        } as Resource,
        ...Array.from({ length: TARGET_MATCHES }, (_, i) =>
          observation(`t-o${i}`, 'target', TARGET_CODE, 'gp'),
        ),
        {
          resourceType: 'ValueSet',
          id: 'target-codes',
          url: VALUE_SET,
          status: 'active',
          compose: {
            include: [{ system: 'http://loinc.org', concept: [{ code: TARGET_CODE }, { code: '88888-8' }] }],
          },
        } as Resource,
      ];
      await seedResources(vault, fixture);
      let stored = fixture.length;
      let fillers = 0;
      let seedMs = 0;
      const figures: Figure[] = [];
      const baseline = new Map<string, number>();
      const expected = new Map<string, number>();
      for (const level of levels) {
        while (stored < level) {
          const batch: Resource[] = [];
          while (batch.length < SEED_BATCH && stored + batch.length < level) batch.push(...filler(fillers++));
          const t0 = performance.now();
          await seedResources(vault, batch);
          seedMs += performance.now() - t0;
          stored += batch.length;
          if (stored % 20_000 < SEED_BATCH)
            ctx.progress(
              `search-scale: ${stored} of ${level} resources seeded (${Math.round((stored - fixture.length) / (seedMs / 1000))}/s)`,
            );
        }
        ctx.progress(`search-scale: ${stored} stored; timing ${QUERIES.length} searches × ${rounds}`);
        for (const q of QUERIES) {
          const times: number[] = [];
          let matches = 0;
          // One untimed round first: compiled FHIRPath, warmed caches and JIT, as on a running node.
          await vault.repo.search(q.type, new URLSearchParams(q.query), clinician, { handling: 'strict' });
          const opensBefore = opened.count;
          const cpu0 = process.cpuUsage();
          for (let round = 0; round < rounds; round++) {
            const t0 = performance.now();
            const found = await vault.repo.search(q.type, new URLSearchParams(q.query), clinician, {
              handling: 'strict',
            });
            times.push(performance.now() - t0);
            matches = found.resources.length + found.included.length;
          }
          // The same result at every size, or the comparison means nothing.
          if (!expected.has(q.id)) expected.set(q.id, matches);
          if (expected.get(q.id) !== matches)
            throw new Error(`${q.id}: ${matches} results at ${stored} stored, ${expected.get(q.id)} before`);
          const opens = (opened.count - opensBefore) / rounds;
          // CPU time per search does not swing with the machine's load as wall-clock time does.
          const cpu = process.cpuUsage(cpu0);
          const cpuMs = (cpu.user + cpu.system) / 1000 / rounds;
          times.sort((a, b) => a - b);
          const p50 = percentile(times, 50);
          if (!baseline.has(q.id)) baseline.set(q.id, p50);
          const base = baseline.get(q.id) as number;
          const rawMs = (opens / aes.value) * 1000;
          figures.push({
            group: 'search-scale',
            id: `search-scale.${q.id}.${level}`,
            label: `${q.label} at ${level.toLocaleString('en')} stored`,
            value: p50,
            p99: percentile(times, 99),
            unit: 'ms',
            extra: { matches, stored, opened: opens, cpuMs: Number(cpuMs.toFixed(2)) },
            ratios: [
              {
                value: p50 / base,
                text: `${(p50 / base).toFixed(2)} × its time at ${levels[0]?.toLocaleString('en')} stored`,
              },
              {
                value: p50 / rawMs,
                text: `${formatNumber(p50 / rawMs)} × raw AES-256-GCM time for the ${opens} records it opens (${formatNumber(aes.value)} ops/s)`,
                limitId: aes.id,
              },
            ],
          });
        }
      }
      return {
        figures,
        charts: [],
        notes: [
          `search-scale: the same ${QUERIES.length} searches (the same matches) at ${levels.join(', ')} stored resources, seeded at ${Math.round((stored - fixture.length) / (seedMs / 1000))} resources/s; a ratio near 1 means the cost follows the matches, not the store`,
        ],
      };
    } finally {
      cleanup();
      vault.close();
      rmSync(vault.dir, { recursive: true, force: true });
    }
  },
};
