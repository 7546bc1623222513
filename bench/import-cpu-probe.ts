/**
 * CPU per imported resource, for before/after comparisons of the write path (issues 13 and 16):
 * `npx tsx bench/import-cpu-probe.ts [copies] [--profile]` loads copies of the Synthea bulk set through
 * `careledger import` (export-load.ts: validated, admitted, indexed, sealed, logged, committed) into a
 * test vault and prints the CPU milliseconds per resource of the last copy (the first also warms the
 * JIT and the definition caches). With --profile, the last copy is profiled and the inclusive shares of
 * the write path's stages are printed (the profile is saved to /tmp/import.cpuprofile).
 */
import { writeFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { join } from 'node:path';
import { openTestVault } from '../test/support/open-test-vault.js';
import { BULK_DIR } from '../test/support/shared-data.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from './cpu-profile.js';
import { copyLines, createImportLoader } from './groups/export-load.js';
import { loadSyntheaTemplate } from './groups/export-seed.js';

const STAGES = [
  'validateResource',
  'checkResourceRules',
  'extractSearchIndexEntries',
  'evaluateSearchParam',
  'hashIndexValue',
  'sealAes256Gcm',
  'parseResource',
  'implausibleValues',
  'canonicalJson',
];

const args = process.argv.slice(2);
const profile = args.includes('--profile');
const copies = Math.max(2, Number(args.find((a) => !a.startsWith('--')) ?? 2));
const vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
const loader = createImportLoader(vault, join(vault.dir, 'import'));
const template = loadSyntheaTemplate(BULK_DIR);
for (let copy = 0; copy < copies; copy++) {
  const last = copy === copies - 1;
  const stop = last && profile ? await startCpuProfile() : undefined;
  const cpu0 = loader.meter.cpuMs;
  const n = await loader.load(copyLines(template, copy), `copy-${copy}`);
  console.log(`import copy ${copy}: ${n} res, ${((loader.meter.cpuMs - cpu0) / n).toFixed(4)} CPU ms/res`);
  if (stop !== undefined) {
    const p = await stop();
    writeFileSync('/tmp/import.cpuprofile', JSON.stringify(p));
    console.log(formatProfileShares(summarizeCpuProfile(p, 25).functions));
    console.log(formatInclusive(p));
  }
}
loader.close();
vault.close();

/** Inclusive share of each stage: samples with a frame of that name anywhere on their stack. */
function formatInclusive(p: Profiler.Profile): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const totals = new Map<string, number>(STAGES.map((s) => [s, 0]));
  let wall = 0;
  const samples = p.samples ?? [];
  for (let i = 0; i < samples.length; i++) {
    const us = p.timeDeltas?.[i + 1] ?? 0;
    wall += us;
    const seen = new Set<string>();
    for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)?.callFrame.functionName ?? '';
      if (totals.has(name) && !seen.has(name)) {
        seen.add(name);
        totals.set(name, (totals.get(name) ?? 0) + us);
      }
    }
  }
  return `inclusive: ${[...totals].map(([s, us]) => `${s} ${((us / wall) * 100).toFixed(1)}%`).join(', ')}`;
}
