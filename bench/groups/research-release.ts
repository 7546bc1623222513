/**
 * A study release (issue 18's benchmark): N cloned Synthea patients (the bulk NDJSON set, as the
 * export group seeds it straight into a real vault), each with a ledger address and a consent to the
 * study (purpose HRESCH), then the study's `$export` run to completion: every resource read through
 * the access-checked gateway, de-identified with the Safe Harbor profile, k-checked, sealed into the
 * job's files, the manifest hashed. Beside it, from the same run and the same data: the plain
 * system-level `$export` of the same types by a clinician (read, decide, seal: the release minus the
 * de-identification) and the de-identification alone, in memory. Peak RSS of the release.
 * `--size research-release=N` patients (default 39, three copies; clones share quasi-identifiers,
 * so k = 3 keeps every class).
 */
import type { Resource } from '@medplum/fhirtypes';
import { deidentifyResource, type FhirResource, SAFE_HARBOR_PROFILE } from '../../src/research/index.js';
import { BULK_DIR } from '../../test/support/shared-data.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';
import { cloneCopy, loadSyntheaTemplate, seedResources, sharedResources } from './export-seed.js';
import { MB, openResearchBenchNode, sampleRss } from './research-bench-node.js';

const SEED_BATCH = 2_000;
const TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'Encounter',
  'Procedure',
  'Immunization',
  'MedicationRequest',
];

export const researchReleaseGroup: Group = {
  name: 'research-release',
  description:
    'study $export of N consenting Synthea patients: de-identified resources/s beside the plain export and de-identification alone',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const template = loadSyntheaTemplate(BULK_DIR);
    const patients = ctx.options.sizes?.['research-release'] ?? template.patients * 3;
    const copies = Math.max(1, Math.ceil(patients / template.patients));
    const node = await openResearchBenchNode({
      name: 'research-release',
      resourceTypes: TYPES,
      k: Math.min(3, copies),
    });
    const { vault } = node;
    const cleanup = ctx.onInterrupt(() => node.close());
    try {
      const seedStart = performance.now();
      await seedResources(vault, sharedResources(template));
      let seeded = 0;
      const sample: Resource[] = [];
      for (let copy = 0; copy < copies; copy++) {
        const clone = cloneCopy(template, `c${copy}-`).map((resource) =>
          resource.resourceType === 'Patient' ? node.enroll(resource) : resource,
        );
        if (copy === 0) sample.push(...clone.filter((r) => TYPES.includes(r.resourceType)));
        for (let i = 0; i < clone.length; i += SEED_BATCH)
          await seedResources(vault, clone.slice(i, i + SEED_BATCH));
        seeded += clone.length;
        ctx.progress(`research-release: seeded ${copy + 1} of ${copies} copies (${seeded} resources)`);
      }
      const seedSeconds = (performance.now() - seedStart) / 1000;
      await node.start();

      // The plain read of the same types: a clinician's system-level export (decrypt, decide, seal).
      const t0 = performance.now();
      const plainCount = await node.plainExport();
      const plainSeconds = (performance.now() - t0) / 1000;

      // The release.
      globalThis.gc?.();
      const rssBefore = process.memoryUsage.rss();
      const stopProfile = ctx.options.profile ? await startCpuProfile() : undefined;
      const rss = sampleRss();
      const t1 = performance.now();
      const manifest = await node.release();
      const releaseSeconds = (performance.now() - t1) / 1000;
      const peak = rss.stop();
      const profileNotes: string[] = [];
      if (stopProfile !== undefined) {
        const summary = summarizeCpuProfile(await stopProfile());
        profileNotes.push(
          `Profile of the release: by module: ${formatProfileShares(summary.modules)}; top functions (self): ${formatProfileShares(summary.functions)}.`,
        );
      }
      const { records, suppressedRecords } = manifest.extension.counts;

      // De-identification alone, in memory, over one copy's resources of the study's types.
      const t2 = performance.now();
      for (const resource of sample) {
        deidentifyResource(resource as unknown as FhirResource, SAFE_HARBOR_PROFILE, {
          studyKey: new Uint8Array(32).fill(9),
          asOf: vault.clock.now,
        });
      }
      const deidSeconds = (performance.now() - t2) / 1000;

      const size = `${node.patients} patients, ${plainCount} resources of ${TYPES.length} types`;
      const figures: Figure[] = [
        {
          group: 'research-release',
          id: 'research-release.plain-export',
          label: `plain $export of the same types (${size})`,
          value: plainCount / plainSeconds,
          unit: 'resources/s',
          extra: {
            seconds: Number(plainSeconds.toFixed(2)),
            'seed resources/s': Math.round(seeded / seedSeconds),
          },
          ratios: [],
          note: 'the raw read path of the same run: decrypt, access decision, re-seal',
        },
        {
          group: 'research-release',
          id: 'research-release.release',
          label: `study release, Safe Harbor (${size})`,
          value: records / releaseSeconds,
          unit: 'resources/s',
          extra: {
            seconds: Number(releaseSeconds.toFixed(2)),
            records,
            'suppressed records': suppressedRecords,
            'peak RSS MB': Math.round(peak / MB),
            'RSS before MB': Math.round(rssBefore / MB),
          },
          ratios: [
            {
              value: records / releaseSeconds / (plainCount / plainSeconds),
              text: `${(records / releaseSeconds / (plainCount / plainSeconds)).toFixed(2)} × the plain export of the same run`,
              limitId: 'research-release.plain-export',
            },
          ],
          note: 'gateway read as the study (consent per resource), k-check over the cohort, de-identify, seal, hash the files',
        },
        {
          group: 'research-release',
          id: 'research-release.deidentify',
          label: `de-identification alone, in memory (${sample.length} resources)`,
          value: sample.length / deidSeconds,
          unit: 'resources/s',
          ratios: [],
        },
      ];
      return {
        figures,
        charts: [],
        notes: [
          ...profileNotes,
          `research-release: ${size}; peak RSS ${Math.round(peak / MB)} MB during the release (${Math.round(rssBefore / MB)} MB before it)`,
        ],
      };
    } finally {
      cleanup();
      await node.close();
    }
  },
};
