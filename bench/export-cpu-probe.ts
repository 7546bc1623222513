/**
 * CPU per exported resource, for before/after comparisons of the export path (decision 0038):
 * `npx tsx bench/export-cpu-probe.ts [copies]` seeds copies of the Synthea bulk set straight into a
 * test vault's sealed store (export-seed.ts; the stored form an import leaves), then runs two
 * system-level exports and prints the process's CPU milliseconds per resource of each (the second
 * with a CPU profile, saved to /tmp/export.cpuprofile). CPU per resource, not the rate, is compared:
 * the machine's load swings rates, much less the CPU a resource takes.
 */
import { writeFileSync } from 'node:fs';
import { createNodeApp } from '../src/http/create-node-app.js';
import { openTestVault } from '../test/support/open-test-vault.js';
import { BULK_DIR } from '../test/support/shared-data.js';
import { addExportJobTable, createVaultExportModule } from '../test/support/vault-export-module.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from './cpu-profile.js';
import {
  createCloneSeeder,
  loadSyntheaTemplate,
  seedResources,
  sharedResources,
} from './groups/export-seed.js';

const H = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
addExportJobTable(vault);
const t = loadSyntheaTemplate(BULK_DIR);
await seedResources(vault, sharedResources(t));
const seeder = createCloneSeeder(vault, t);
let n = t.shared.length;
for (let c = 0; c < Number(process.argv[2] ?? 3); c++) {
  const k = seeder.copy(`c${c}-`);
  for (let i = 0; i < k.resources.length; i += 2000)
    await seedResources(vault, k.resources.slice(i, i + 2000), k.index.slice(i, i + 2000));
  n += k.resources.length;
}
const m = createVaultExportModule(vault, { baseUrl: 'http://bench.test' });
await m.start();
const app = createNodeApp();
app.route('/fhir', m.routes);
for (let round = 0; round < 2; round++) {
  const stop = round === 1 ? await startCpuProfile() : undefined;
  const c0 = process.cpuUsage();
  const k = await app.request('/fhir/$export', { headers: { ...H, prefer: 'respond-async' } });
  if (k.status !== 202) throw new Error(String(k.status));
  await m.service.idle();
  const u = process.cpuUsage(c0);
  console.log(`export round ${round}: ${n} res, ${((u.user + u.system) / 1000 / n).toFixed(4)} CPU ms/res`);
  if (stop) {
    const p = await stop();
    writeFileSync('/tmp/export.cpuprofile', JSON.stringify(p));
    console.log(formatProfileShares(summarizeCpuProfile(p, 20).functions));
  }
}
await m.stop();
vault.close();
