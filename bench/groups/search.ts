/**
 * Search with chained and `_has` parameters and `_include:iterate`, at growing store sizes: the same
 * few matches (one target patient, 20 Observations, one practitioner) while other patients'
 * records are added around them, 10^3 → 10^4 stored resources by default (`--size search=100000`
 * for 10^5). The cost of a query should follow its matches, not the store: each level prints its
 * median and p99 latency and its ratio to the smallest level. A real vault (SQLite, envelope
 * encryption, the transparency log and one AuditEvent per search), queried as a clinician.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import { privateKeyToAccount } from 'viem/accounts';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { enrolPatientKey } from '../../test/support/enrol-patient-key.js';
import { openTestVault } from '../../test/support/open-test-vault.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const LAB = '0x00000000000000000000000000000000000000Cc' as const;
const OTHER = '0x00000000000000000000000000000000000000Dd' as const;
const member: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };
const memberWithoutGrant: AccessContext = { who: `Organization/${OTHER}`, purpose: 'TREAT', member: OTHER };
/** Issue 16: a patient with 174 Observations, searched by subject with `_count=10`. */
const BUSY_MATCHES = 174;
const BUSY_KEY = `0x${'17'.repeat(32)}` as const;
const TARGET_CODE = '99999-9';
const BATCH = 250;

function observation(patientRef: string, code: string, performer?: string): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: patientRef },
    ...(performer === undefined ? {} : { performer: [{ reference: performer }] }),
    valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export const searchGroup: Group = {
  name: 'search',
  description:
    'Chained, _has and _include:iterate searches at 10^3 and 10^4 stored resources (--size search=<max>): cost follows the matches',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const max = ctx.options.sizes?.search ?? 10_000;
    const levels = [1_000, 10_000, 100_000, 1_000_000].filter((n) => n <= max);
    const rounds = ctx.options.quick ? 5 : 20;
    const vault = await openTestVault('0x00000000000000000000000000000000000000Bb');
    const cleanup = ctx.onInterrupt(() => vault.close());
    // Records the vault opens (decrypted or from its cache of decrypted versions), counted where it
    // happens: the store is private to the repository, reached here for the count only.
    const opened = { count: 0 };
    const store = (vault.repo as unknown as { store: { open: (v: unknown) => Promise<unknown> } }).store;
    const openRecord = store.open.bind(store);
    store.open = (version) => {
      opened.count += 1;
      return openRecord(version);
    };
    try {
      const practitioner = await vault.repo.create(
        { resourceType: 'Practitioner', name: [{ family: 'Benchmark', given: ['Dana'] }] } as Resource,
        clinician,
      );
      const target = await vault.repo.create(
        {
          resourceType: 'Patient',
          name: [{ family: 'Zyxwvut', given: ['Target'] }],
          generalPractitioner: [{ reference: `Practitioner/${practitioner.id}` }],
        } as Resource,
        clinician,
      );
      for (let i = 0; i < 20; i++) {
        await vault.repo.create(
          observation(
            `Patient/${target.id}`,
            TARGET_CODE,
            `Practitioner/${practitioner.id}`,
          ) as unknown as Resource,
          clinician,
        );
      }
      const busy = await vault.repo.create(
        { resourceType: 'Patient', name: [{ family: 'Busy' }] },
        clinician,
      );
      await enrolPatientKey(vault.repo, busy.id as string, BUSY_KEY);
      await vault.repo.transaction(
        {
          resourceType: 'Bundle',
          type: 'transaction',
          // Each entry its own fullUrl: an entry without one gets an id from its position in the
          // Bundle (rewriteBundleReferences), which a later transaction's entry would overwrite.
          entry: Array.from({ length: BUSY_MATCHES }, () => ({
            fullUrl: `urn:uuid:${randomUUID()}`,
            resource: observation(`Patient/${busy.id}`, '2345-7'),
            request: { method: 'POST', url: 'Observation' },
          })),
        },
        clinician,
      );
      vault.grants.add({
        patient: privateKeyToAccount(BUSY_KEY).address,
        grantee: LAB,
        categories: ['laboratory', 'demographics'],
        purposes: ['TREAT'],
      });
      let stored = 23 + BUSY_MATCHES;
      let filler = 0;
      const queries: { id: string; label: string; type: string; query: string; who?: AccessContext }[] = [
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
            'Observation?subject=<id>&_include=Observation:subject&_include:iterate=Patient:general-practitioner',
          type: 'Observation',
          query: `subject=Patient/${target.id}&_include=Observation:subject&_include:iterate=Patient:general-practitioner`,
        },
        {
          id: 'subject174',
          label: `Observation?subject=<id>&_count=10 (${BUSY_MATCHES} matches), clinician`,
          type: 'Observation',
          query: `subject=Patient/${busy.id}&_count=10`,
        },
        {
          id: 'subject174member',
          label: `Observation?subject=<id>&_count=10 (${BUSY_MATCHES} matches), another member with a grant`,
          type: 'Observation',
          query: `subject=Patient/${busy.id}&_count=10`,
          who: member,
        },
        {
          id: 'subject174nogrant',
          label: `Observation?subject=<id>&_count=10 (${BUSY_MATCHES} matches), another member without a grant`,
          type: 'Observation',
          query: `subject=Patient/${busy.id}&_count=10`,
          who: memberWithoutGrant,
        },
      ];
      const figures: Figure[] = [];
      const baseline = new Map<string, number>();
      for (const level of levels) {
        while (stored < level) {
          // Other patients, each with a few Observations of other codes: a transaction per batch.
          const entry: object[] = [];
          while (entry.length < BATCH && stored + entry.length < level) {
            const fullUrl = `urn:uuid:00000000-0000-4000-8000-${String(filler).padStart(12, '0')}`;
            filler += 1;
            entry.push({
              fullUrl,
              resource: { resourceType: 'Patient', name: [{ family: `Filler${filler}` }] },
              request: { method: 'POST', url: 'Patient' },
            });
            for (let k = 0; k < 4 && stored + entry.length < level; k++) {
              entry.push({
                fullUrl: `urn:uuid:${randomUUID()}`,
                resource: observation(fullUrl, `1000${k}-${k}`),
                request: { method: 'POST', url: 'Observation' },
              });
            }
          }
          await vault.repo.transaction({ resourceType: 'Bundle', type: 'transaction', entry }, clinician);
          stored += entry.length;
          if (stored % 5_000 < BATCH) ctx.progress(`search: ${stored} of ${level} resources stored`);
        }
        for (const q of queries) {
          const times: number[] = [];
          let matches = 0;
          const opensBefore = opened.count;
          const cpu0 = process.cpuUsage();
          for (let round = 0; round < rounds; round++) {
            const t0 = performance.now();
            const found = await vault.repo.search(q.type, new URLSearchParams(q.query), q.who ?? clinician, {
              handling: 'strict',
            });
            times.push(performance.now() - t0);
            matches = found.resources.length + found.included.length;
          }
          const cpu = process.cpuUsage(cpu0);
          // Work per search that does not depend on the machine's load: records opened, CPU time.
          const opens = (opened.count - opensBefore) / rounds;
          const cpuMs = (cpu.user + cpu.system) / 1000 / rounds;
          times.sort((a, b) => a - b);
          const p50 = percentile(times, 50);
          if (!baseline.has(q.id)) baseline.set(q.id, p50);
          const base = baseline.get(q.id) as number;
          figures.push({
            group: 'search',
            id: `search.${q.id}.${level}`,
            label: `${q.label} at ${level.toLocaleString('en')} stored`,
            value: p50,
            p99: percentile(times, 99),
            unit: 'ms',
            extra: {
              matches,
              stored,
              reqPerSecond: Math.round(1000 / p50),
              opened: opens,
              cpuMs: Number(cpuMs.toFixed(2)),
            },
            ratios: [
              {
                value: p50 / base,
                text: `${(p50 / base).toFixed(2)} × its time at ${levels[0]?.toLocaleString('en')} stored`,
              },
            ],
          });
        }
      }
      return {
        figures,
        charts: [],
        notes: [
          `search: the same ${queries.length} queries (the same matches) at ${levels.join(', ')} stored resources; a ratio near 1 means the cost follows the matches, not the store`,
        ],
      };
    } finally {
      cleanup();
      vault.close();
      rmSync(vault.dir, { recursive: true, force: true });
    }
  },
};
