/**
 * Bulk Data `$export` of imported patients: the 10-patient bulk NDJSON set (../shared/data) loaded
 * `--size export=<patients>` / 10 times under fresh ids into a real vault (SQLite, envelope
 * encryption, transparency log), then one system-level export run to completion (every resource
 * decrypted, judged by the access policy, re-sealed into the job's files, each patient audited), and
 * its files downloaded (opened frame by frame). Prints resources/s and the peak RSS during the export
 * beside the RSS before it: the export holds one page, not the data set, so the peak should not grow
 * with the size. Default 10 patients; the issue's figure is `--size export=10000`.
 */
import { rmSync } from 'node:fs';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { importBulkNdjson } from '../../test/support/import-bulk-ndjson.js';
import { openTestVault } from '../../test/support/open-test-vault.js';
import { BULK_DIR } from '../../test/support/shared-data.js';
import { addExportJobTable, createVaultExportModule } from '../../test/support/vault-export-module.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const PATIENTS_PER_COPY = 10;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
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
    'Bulk Data $export of imported patients: resources/s and peak memory (--size export=<patients>)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const patients = ctx.options.sizes?.export ?? PATIENTS_PER_COPY;
    const copies = Math.max(1, Math.round(patients / PATIENTS_PER_COPY));
    const vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
    const cleanup = ctx.onInterrupt(() => vault.close());
    let module: BulkExportModule | undefined;
    try {
      addExportJobTable(vault);
      let imported = 0;
      const importStart = performance.now();
      for (let copy = 0; copy < copies; copy++) {
        const counts = await importBulkNdjson(vault.repo, BULK_DIR, clinician, { idPrefix: `c${copy}-` });
        imported += [...counts.values()].reduce((a, b) => a + b, 0);
        // At 10^4 patients (7.2 million resources) the load takes hours: say how many are left.
        const rate = imported / ((performance.now() - importStart) / 1000);
        const left = (copies - copy - 1) * (imported / (copy + 1));
        ctx.progress(
          `export: imported copy ${copy + 1} of ${copies} (${imported} resources, ${Math.round(rate)}/s` +
            `${left > 0 ? `, about ${Math.ceil(left / rate / 60)} min to go` : ''})`,
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
      await module.service.idle();
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

      const size = `${copies * PATIENTS_PER_COPY} patients, ${imported} resources`;
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
            'import resources/s': Math.round(imported / importSeconds),
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
