/**
 * Bulk Data `$export` of N synthetic patients: the Synthea bulk NDJSON set (../shared/data) cloned
 * under fresh ids until it holds `--patients N` (or `--size export=N`) patients, its practitioners,
 * organizations and locations shared, and seeded straight into a real vault's sealed store
 * (export-seed.ts: sealed, logged and indexed as the repository writes, without HTTP), then one
 * system-level export run to completion (every resource decrypted, judged by the access policy,
 * re-sealed into the job's files, each patient audited), and its files downloaded (opened frame by
 * frame). Prints resources/s and the peak RSS during the export beside the RSS before it: the export
 * holds one page, not the data set, so the peak should not grow with the size. Default 13 patients
 * (one copy); the issue's figure is `--patients 10000`.
 */
import { rmSync } from 'node:fs';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { openTestVault } from '../../test/support/open-test-vault.js';
import { BULK_DIR } from '../../test/support/shared-data.js';
import { addExportJobTable, createVaultExportModule } from '../../test/support/vault-export-module.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';
import { createCloneSeeder, loadSyntheaTemplate, seedResources, sharedResources } from './export-seed.js';

/** Resources per log commit while seeding. */
const SEED_BATCH = 2_000;
const HEADERS = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const MB = 1024 * 1024;

/** Samples the process's resident set every few milliseconds; `peak` is the highest seen. */
function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

export const exportGroup: Group = {
  name: 'export',
  description:
    'Bulk Data $export of N cloned Synthea patients seeded into the store: resources/s and peak memory (--patients N)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const template = loadSyntheaTemplate(BULK_DIR);
    const patients = ctx.options.sizes?.export ?? template.patients;
    const wanted = Math.max(1, Math.ceil(patients / template.patients));
    // `--size export-minutes=M`: stop seeding after M minutes and export what is stored (the scale
    // reached is printed), so a 10^4-patient run that cannot finish here still measures honestly.
    const seedBudgetMs = (ctx.options.sizes?.['export-minutes'] ?? Number.POSITIVE_INFINITY) * 60_000;
    let copies = wanted;
    const vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
    const cleanup = ctx.onInterrupt(() => vault.close());
    let module: BulkExportModule | undefined;
    try {
      addExportJobTable(vault);
      const importStart = performance.now();
      const shared = sharedResources(template);
      await seedResources(vault, shared);
      let imported = shared.length;
      let lastReport = importStart;
      const seeder = createCloneSeeder(vault, template);
      for (let copy = 0; copy < copies; copy++) {
        const clone = seeder.copy(`c${copy}-`);
        for (let i = 0; i < clone.resources.length; i += SEED_BATCH)
          await seedResources(
            vault,
            clone.resources.slice(i, i + SEED_BATCH),
            clone.index.slice(i, i + SEED_BATCH),
          );
        imported += clone.resources.length;
        const now = performance.now();
        if (now - importStart > seedBudgetMs && copy + 1 < copies) {
          ctx.progress(`export: seeding budget spent after ${copy + 1} of ${wanted} copies`);
          copies = copy + 1;
        }
        if (now - lastReport < 10_000 && copy + 1 < copies) continue;
        lastReport = now;
        // At 10^4 patients (about 5.4 million resources) seeding takes a while: say how long is left.
        const rate = imported / ((now - importStart) / 1000);
        const left = (copies - copy - 1) * template.perCopy.length;
        ctx.progress(
          `export: seeded ${copy + 1} of ${copies} copies (${imported} resources, ${Math.round(rate)}/s, ` +
            `RSS ${Math.round(process.memoryUsage.rss() / MB)} MB${left > 0 ? `, about ${Math.ceil(left / rate / 60)} min to go` : ''})`,
        );
      }
      const importSeconds = (performance.now() - importStart) / 1000;
      module = createVaultExportModule(vault, { baseUrl: 'http://bench.test' });
      await module.start();
      const app = createNodeApp();
      app.route('/fhir', module.routes);

      globalThis.gc?.();
      const rssBefore = process.memoryUsage.rss();
      const stopProfile = ctx.options.profile ? await startCpuProfile() : undefined;
      const rss = sampleRss();
      const t0 = performance.now();
      const kicked = await app.request('/fhir/$export', { headers: { ...HEADERS, prefer: 'respond-async' } });
      if (kicked.status !== 202) throw new Error(`kick-off answered ${kicked.status}`);
      const statusPath = new URL(kicked.headers.get('content-location') as string).pathname;
      const progressTimer = setInterval(() => {
        void Promise.resolve(app.request(statusPath, { headers: HEADERS })).then((polled) => {
          const said = polled.headers.get('x-progress') ?? `status ${polled.status}`;
          ctx.progress(`export: ${said}; RSS ${Math.round(process.memoryUsage.rss() / MB)} MB`);
        });
      }, 15_000);
      try {
        await module.service.idle();
      } finally {
        clearInterval(progressTimer);
      }
      const exportSeconds = (performance.now() - t0) / 1000;
      const status = await app.request(new URL(kicked.headers.get('content-location') as string).pathname, {
        headers: HEADERS,
      });
      if (status.status !== 200) throw new Error(`status answered ${status.status}: ${await status.text()}`);
      const manifest = (await status.json()) as { output: { url: string; count: number }[] };
      const exported = manifest.output.reduce((sum, o) => sum + o.count, 0);
      if (exported !== imported) throw new Error(`exported ${exported} of ${imported} resources`);
      const peakExport = rss.stop();
      const profileNotes: string[] = [];
      if (stopProfile !== undefined) {
        const summary = summarizeCpuProfile(await stopProfile());
        profileNotes.push(
          `Profile of the export: by module: ${formatProfileShares(summary.modules)}; top functions (self): ${formatProfileShares(summary.functions)}.`,
        );
      }

      const downloadRss = sampleRss();
      const t1 = performance.now();
      let bytes = 0;
      for (const output of manifest.output) {
        const response = await app.request(new URL(output.url).pathname, { headers: HEADERS });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          bytes += value.length;
        }
      }
      const downloadSeconds = (performance.now() - t1) / 1000;
      const peakDownload = downloadRss.stop();

      const size = `${copies * template.patients} patients, ${imported} resources${copies < wanted ? ` (of ${wanted * template.patients} asked; seeding budget spent)` : ''}`;
      const figures: Figure[] = [
        {
          group: 'export',
          id: 'export.run',
          label: `$export, system level (${size})`,
          value: exported / exportSeconds,
          unit: 'resources/s',
          extra: {
            seconds: Number(exportSeconds.toFixed(2)),
            'peak RSS MB': Math.round(peakExport / MB),
            'RSS before MB': Math.round(rssBefore / MB),
            'seed resources/s': Math.round(imported / importSeconds),
            'template lines indexed in full': seeder.slowLines,
          },
          ratios: [],
          note: 'decrypt, access decision, re-seal per resource; one AuditEvent per patient',
        },
        {
          group: 'export',
          id: 'export.download',
          label: `download of the export's files (${size})`,
          value: exported / downloadSeconds,
          unit: 'resources/s',
          extra: {
            'MB/s': Number((bytes / MB / downloadSeconds).toFixed(1)),
            'peak RSS MB': Math.round(peakDownload / MB),
          },
          ratios: [],
        },
      ];
      return {
        figures,
        charts: [],
        notes: [
          ...profileNotes,
          `export: ${size}; peak RSS ${Math.round(peakExport / MB)} MB during the export (${Math.round(rssBefore / MB)} MB before it)`,
        ],
      };
    } finally {
      await module?.stop();
      cleanup();
      vault.close();
      rmSync(vault.dir, { recursive: true, force: true });
    }
  },
};
