/**
 * Issue 18's benchmark at scale: a study release of N Synthea-shaped patients (default 10,000) at
 * one member. The patients (research-synthetic-patients.ts: Patient, Conditions, vital-sign and
 * laboratory Observations) are loaded as bulk NDJSON through `careledger import` itself
 * (export-load.ts: transaction Bundles, each resource validated, indexed, sealed and logged), each
 * enrolled in the study. Then the
 * study's `$export` runs to completion (every resource read through the access-checked gateway as
 * the study, k over the cohort, Safe Harbor de-identification, sealed files hashed, the manifest
 * anchored), the researcher downloads the files and verifies them against the anchor, as
 * `careledger research verify` does. Figures: resources released per second, the release's peak RSS,
 * the time to download and to verify. `--size research-scale=N`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';
import { BENCH_IMPORT_BATCH, createImportLoader } from './export-load.js';
import { seedResources } from './export-seed.js';
import { MB, openResearchBenchNode, sampleRss } from './research-bench-node.js';
import { createRandom, syntheticPatient } from './research-synthetic-patients.js';

/** Resources per `careledger import` run (each run sends transaction Bundles of BENCH_IMPORT_BATCH). */
const SEED_BATCH = 2_000;
const TYPES = ['Patient', 'Condition', 'Observation'];
const K = 5;

export const researchScaleGroup: Group = {
  name: 'research-scale',
  description:
    'study release of N Synthea-shaped patients (default 10,000): resources/s, peak RSS, download and verify time',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const patients = ctx.options.sizes?.['research-scale'] ?? 10_000;
    const node = await openResearchBenchNode({ name: 'research-scale', resourceTypes: TYPES, k: K });
    const download = mkdtempSync(join(tmpdir(), 'careledger-release-'));
    const cleanup = ctx.onInterrupt(async () => {
      await node.close();
      rmSync(download, { recursive: true, force: true });
    });
    try {
      const random = createRandom(18);
      const loader = createImportLoader(node.vault, join(download, 'import'));
      const seedStart = performance.now();
      let seeded = 0;
      let batch: Resource[] = [];
      let enrolled: Resource[] = [];
      // `--size research-minutes=M`: stop importing after M minutes and release the patients stored
      // (the scale reached is printed), so a 10^4-patient run that cannot finish here still measures.
      const budgetMs = (ctx.options.sizes?.['research-minutes'] ?? Number.POSITIVE_INFINITY) * 60_000;
      let reached = patients;
      for (let n = 0; n < patients; n++) {
        const [patient, ...records] = syntheticPatient(n, random);
        // The Patient carries the ledger key enrolment links (only $enrol-ledger-key may set it, so an
        // import refuses it): written as enrolment leaves it; every other record is imported.
        enrolled.push(node.enroll(patient as Resource));
        batch.push(...records);
        if (batch.length >= SEED_BATCH || n === patients - 1) {
          await seedResources(node.vault, enrolled);
          await loader.load(
            batch.map((r) => JSON.stringify(r)),
            `patients-${n}`,
          );
          seeded += enrolled.length + batch.length;
          batch = [];
          enrolled = [];
          if (performance.now() - seedStart > budgetMs && n + 1 < patients) {
            reached = n + 1;
            ctx.progress(`research-scale: import budget spent after ${reached} of ${patients} patients`);
            break;
          }
          ctx.progress(
            `research-scale: imported ${n + 1} of ${patients} patients (${loader.meter.loaded} resources imported, ${(loader.meter.cpuMs / loader.meter.loaded).toFixed(3)} CPU ms each, and their ${n + 1} enrolled Patients)`,
          );
        }
      }
      const seedSeconds = (performance.now() - seedStart) / 1000;
      await node.start();

      globalThis.gc?.();
      const rssBefore = process.memoryUsage.rss();
      const stopProfile = ctx.options.profile ? await startCpuProfile() : undefined;
      const rss = sampleRss();
      const t1 = performance.now();
      const cpu1 = process.cpuUsage();
      const manifest = await node.release();
      const releaseSeconds = (performance.now() - t1) / 1000;
      const releaseCpu = process.cpuUsage(cpu1);
      const profileNotes: string[] = [];
      if (stopProfile !== undefined) {
        const summary = summarizeCpuProfile(await stopProfile());
        profileNotes.push(
          `Profile of the release: by module: ${formatProfileShares(summary.modules)}; top functions (self): ${formatProfileShares(summary.functions)}.`,
        );
      }
      const peak = rss.stop();
      const { counts } = manifest.extension;
      ctx.progress(`research-scale: released ${counts.records} resources in ${releaseSeconds.toFixed(1)} s`);

      const t2 = performance.now();
      await node.download(manifest, download);
      const downloadSeconds = (performance.now() - t2) / 1000;
      const t3 = performance.now();
      await node.verify(manifest, download);
      const verifySeconds = (performance.now() - t3) / 1000;

      const size = `${reached} patients, ${seeded} resources${reached < patients ? ` (of ${patients} asked; import budget spent)` : ''}`;
      const figures: Figure[] = [
        {
          group: 'research-scale',
          id: 'research-scale.seed',
          label: `careledger import of the bulk NDJSON, ${BENCH_IMPORT_BATCH} per transaction (${size})`,
          value: seeded / seedSeconds,
          unit: 'resources/s',
          extra: {
            seconds: Number(seedSeconds.toFixed(1)),
            'CPU ms per imported resource': Number((loader.meter.cpuMs / loader.meter.loaded).toFixed(4)),
          },
          ratios: [],
        },
        {
          group: 'research-scale',
          id: 'research-scale.release',
          label: `study release, Safe Harbor, k = ${K} (${size})`,
          value: counts.records / releaseSeconds,
          unit: 'resources/s',
          extra: {
            seconds: Number(releaseSeconds.toFixed(1)),
            'CPU ms per stored resource': Number(
              ((releaseCpu.user + releaseCpu.system) / 1000 / seeded).toFixed(4),
            ),
            records: counts.records,
            contributors: counts.contributors,
            'suppressed patients': counts.suppressedPatients,
            'suppressed records': counts.suppressedRecords,
            'equivalence classes': counts.equivalenceClasses,
            'peak RSS MB': Math.round(peak / MB),
            'RSS before MB': Math.round(rssBefore / MB),
          },
          ratios: [],
          note: 'gateway read as the study (consent per resource), k over the cohort, de-identify, seal, hash, anchor',
        },
        {
          group: 'research-scale',
          id: 'research-scale.download',
          label: `download of the release's ${manifest.output.length} files by the researcher`,
          value: downloadSeconds,
          unit: 's',
          ratios: [],
        },
        {
          group: 'research-scale',
          id: 'research-scale.verify',
          label: 'verification of the download (every file hashed, the manifest hash looked up as anchored)',
          value: verifySeconds,
          unit: 's',
          ratios: [],
        },
      ];
      return {
        figures,
        charts: [],
        notes: [
          ...profileNotes,
          `research-scale: ${size}; released ${counts.records} records of ${counts.contributors} patients, ${counts.suppressedPatients} suppressed (k = ${K}); peak RSS ${Math.round(peak / MB)} MB during the release (${Math.round(rssBefore / MB)} MB before it)`,
        ],
      };
    } finally {
      cleanup();
      await node.close();
      rmSync(download, { recursive: true, force: true });
    }
  },
};
