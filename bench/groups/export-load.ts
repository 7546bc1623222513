/**
 * The large benchmarks' loader (export, research-scale): the Synthea bulk NDJSON set copied under
 * fresh ids (export-seed.ts's cloneCopy) and loaded through `careledger import` itself (runImport:
 * transaction Bundles of PUT entries, a state file, progress), sent to the vault's own FHIR routes in
 * this process, so every resource is parsed, validated, admitted, indexed, sealed, logged and
 * committed as a hospital's import is. Only the socket is left out. Counts the CPU it takes.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runImport } from '../../src/cli/commands/import.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { createFhirRoutes } from '../../src/http/routes/fhir-routes.js';
import { mountFhirBundleRoutes } from '../../src/node/compose/fhir.js';
import type { TestVault } from '../../test/support/open-test-vault.js';
import { cloneLines, type SyntheaTemplate } from './export-seed.js';

/** Resources per transaction Bundle of the bench's imports (the CLI's `--batch`). */
export const BENCH_IMPORT_BATCH = 1_000;

/** Resources loaded so far and the CPU milliseconds (user + system) of this process their loads took. */
export interface LoadMeter {
  readonly cpuMs: number;
  readonly loaded: number;
  /** Runs one load (it returns the resources it loaded) and counts it. */
  measure(load: () => Promise<number>): Promise<number>;
}

export function createLoadMeter(): LoadMeter {
  let cpuMs = 0;
  let loaded = 0;
  return {
    get cpuMs() {
      return cpuMs;
    },
    get loaded() {
      return loaded;
    },
    async measure(load) {
      const before = process.cpuUsage();
      try {
        const count = await load();
        loaded += count;
        return count;
      } finally {
        const used = process.cpuUsage(before);
        cpuMs += (used.user + used.system) / 1000;
      }
    },
  };
}

export interface ImportLoader {
  /** Imports the lines (one file per type) and returns the resources loaded. */
  load(lines: readonly string[], name: string): Promise<number>;
  /** What `load` loaded so far, and its CPU (the import itself, not the writing of its files). */
  readonly meter: LoadMeter;
  close(): void;
}

export function createImportLoader(vault: TestVault, workDir: string): ImportLoader {
  const app = createNodeApp({ loadShedding: false, maxBodyBytes: 64 * 1024 * 1024 });
  const authenticate = createAuthenticator({
    organization: 'Riverside General Hospital',
    devIdentityHeader: true,
  });
  // As the node mounts them (src/node/compose/fhir.ts): Bundles first, then the generic routes.
  mountFhirBundleRoutes(app, { repository: vault.repo, authenticate });
  app.route(
    '/fhir',
    createFhirRoutes({
      repository: vault.repo,
      software: { name: 'CareLedger', version: 'bench' },
      authenticate,
    }),
  );
  const doFetch = ((input: string | URL | Request, init?: RequestInit) =>
    app.request(input instanceof Request ? input : String(input), init)) as typeof fetch;
  mkdirSync(workDir, { recursive: true });
  const meter = createLoadMeter();
  return {
    meter,
    async load(lines, name) {
      const dir = join(workDir, name);
      mkdirSync(dir, { recursive: true });
      const byType = new Map<string, string[]>();
      for (const line of lines) {
        const type = /"resourceType":"([A-Za-z]+)"/.exec(line)?.[1] ?? 'Unknown';
        byType.set(type, [...(byType.get(type) ?? []), line]);
      }
      // Patients first, as a bulk export's files are usually read: the rest refer to them.
      for (const [type, typed] of byType)
        writeFileSync(
          join(dir, `${type === 'Patient' ? '0-' : '1-'}${type}.000.ndjson`),
          `${typed.join('\n')}\n`,
        );
      try {
        return await meter.measure(async () => {
          const { summary, failures } = await runImport({
            inputs: [dir],
            nodeUrl: 'http://127.0.0.1:8701',
            fetch: doFetch,
            batchSize: BENCH_IMPORT_BATCH,
            concurrency: 2,
            identity: 'Practitioner/importer',
            quiet: true,
            stateFile: join(dir, 'state.json'),
            reportFile: join(dir, 'report.json'),
            checkpointEvery: 5_000,
          });
          if (summary.failed > 0 || summary.skipped.total > 0)
            throw new Error(
              `import of ${name}: ${summary.failed} failed, ${summary.skipped.total} skipped (first: ${JSON.stringify(failures[0]?.issues ?? [])})`,
            );
          return summary.loaded;
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    close() {
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** One copy of the template's per-patient lines and, for the first, the shared ones too. */
export function copyLines(template: SyntheaTemplate, copy: number): string[] {
  return copy === 0
    ? [...template.shared, ...cloneLines(template, `c${copy}-`)]
    : cloneLines(template, `c${copy}-`);
}
