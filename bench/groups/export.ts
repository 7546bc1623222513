/**
 * Bulk Data `$export` of N synthetic patients: the Synthea bulk NDJSON set (../shared/data) copied
 * under fresh ids until it holds `--patients N` (or `--size export=N`) patients, its practitioners,
 * organizations and locations shared, and loaded with `careledger import` itself (export-load.ts:
 * transaction Bundles of 1,000 PUT entries, each resource validated, admitted, indexed, sealed and
 * logged), then one system-level export run to completion (every resource decrypted, judged by the
 * access policy, re-sealed into the job's files, each patient audited), and its files downloaded
 * (opened frame by frame). Prints resources/s and CPU ms per resource of the import and the export,
 * and the peak RSS during the export beside the RSS before it: the export holds one page, not the
 * data set, so the peak should not grow with the size. `--size export-minutes=M` stops the import
 * after M minutes and exports what is stored (the scale reached is printed). Default 13 patients (one
 * copy); the issue's figure is `--patients 10000`. `--size export-seed=1` writes the copies straight
 * into the sealed store instead of importing them (export-seed.ts's createCopySeeder: sealed, indexed and
 * logged as the repository writes, without validation or AuditEvents), about 4 times less CPU per
 * resource: the 10^4-patient export then loads in under an hour here.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { openTestVault } from '../../test/support/open-test-vault.js';
import { BULK_DIR } from '../../test/support/shared-data.js';
import { addExportJobTable, createVaultExportModule } from '../../test/support/vault-export-module.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import { sampleRss } from '../support/sample-rss.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';
import {
  BENCH_IMPORT_BATCH,
  copyLines,
  createImportLoader,
  createLoadMeter,
  type ImportLoader,
} from './export-load.js';
import { createCopySeeder, loadSyntheaTemplate } from './export-seed.js';

const HEADERS = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const MB = 1024 * 1024;

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
      // Through `careledger import` itself (export-load.ts): validated, indexed, sealed, logged.
      // `--size export-seed=1`: written straight into the sealed store instead (export-seed.ts), for
      // the 10^4-patient export the import cannot load here in a session.
      const seeded = (ctx.options.sizes?.['export-seed'] ?? 0) > 0;
      const imports = seeded ? undefined : createImportLoader(vault, join(vault.dir, 'import'));
      const seedCopy = seeded ? createCopySeeder(vault, template) : undefined;
      const loader = imports?.meter ?? createLoadMeter();
      const loadCopy = (copy: number): Promise<number> =>
        seedCopy !== undefined
          ? loader.measure(() => seedCopy(copy))
          : (imports as ImportLoader).load(copyLines(template, copy), `copy-${copy}`);
      const loadWord = seeded ? 'seeded' : 'imported';
      let lastReport = importStart;
      for (let copy = 0; copy < copies; copy++) {
        await loadCopy(copy);
        const now = performance.now();
        if (now - importStart > seedBudgetMs && copy + 1 < copies) {
          ctx.progress(`export: load budget spent after ${copy + 1} of ${wanted} copies`);
          copies = copy + 1;
        }
        if (now - lastReport < 10_000 && copy + 1 < copies) continue;
        lastReport = now;
        // At 10^4 patients (about 5.4 million resources) the import takes a while: say how long is left.
        const rate = loader.loaded / ((now - importStart) / 1000);
        const left = (copies - copy - 1) * template.perCopy.length;
        ctx.progress(
          `export: ${loadWord} ${copy + 1} of ${copies} copies (${loader.loaded} resources, ${Math.round(rate)}/s, ` +
            `${(loader.cpuMs / loader.loaded).toFixed(3)} CPU ms each, RSS ${Math.round(process.memoryUsage.rss() / MB)} MB` +
            `${left > 0 ? `, about ${Math.ceil(left / rate / 60)} min to go` : ''})`,
        );
      }
      const imported = loader.loaded;
      imports?.close();
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
      const cpu0 = process.cpuUsage();
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
      const exportCpu = process.cpuUsage(cpu0);
      const status = await app.request(new URL(kicked.headers.get('content-location') as string).pathname, {
        headers: HEADERS,
      });
      if (status.status !== 200) throw new Error(`status answered ${status.status}: ${await status.text()}`);
      const manifest = (await status.json()) as { output: { type: string; url: string; count: number }[] };
      const exported = manifest.output.reduce((sum, o) => sum + o.count, 0);
      // The import's own AuditEvents (one per patient per transaction) are exported only to whom may read them.
      const records = manifest.output.reduce((sum, o) => sum + (o.type === 'AuditEvent' ? 0 : o.count), 0);
      if (records !== imported) throw new Error(`exported ${records} of ${imported} imported resources`);
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

      const size = `${copies * template.patients} patients, ${imported} resources${copies < wanted ? ` (of ${wanted * template.patients} asked; load budget spent)` : ''}`;
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
            'CPU ms per resource': Number(((exportCpu.user + exportCpu.system) / 1000 / exported).toFixed(4)),
          },
          ratios: [],
          note: 'decrypt, access decision, re-seal per resource; one AuditEvent per patient',
        },
        {
          group: 'export',
          id: seeded ? 'export.seed' : 'export.import',
          label: seeded
            ? `store seeded directly, 500 versions per commit (${size})`
            : `careledger import of the bulk NDJSON, ${BENCH_IMPORT_BATCH} per transaction (${size})`,
          value: imported / importSeconds,
          unit: 'resources/s',
          extra: {
            seconds: Number(importSeconds.toFixed(1)),
            'CPU ms per resource': Number((loader.cpuMs / imported).toFixed(4)),
          },
          ratios: [],
          note: seeded
            ? 'seal, index (re-hashed from the template), log and commit each resource; no validation, access decision or AuditEvent'
            : 'parse, validate, admit, index, seal, log and commit each resource; one AuditEvent per patient per transaction',
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
