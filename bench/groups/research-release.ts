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
import { rmSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import { type Address, getAddress, type Hex, keccak256, slice, toBytes } from 'viem';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import { createVaultExportSource } from '../../src/export/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { ALL_DATA_CATEGORIES } from '../../src/ledger/codes.js';
import {
  deidentifyResource,
  type FhirResource,
  SAFE_HARBOR_PROFILE,
  type Study,
  studyGrantee,
} from '../../src/research/index.js';
import {
  createResearchReleaseModule,
  hashDeidProfile,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import { SqliteExportJobStorage } from '../../src/storage/sqlite/sqlite-export-job-storage.js';
import { openTestVault } from '../../test/support/open-test-vault.js';
import { BULK_DIR } from '../../test/support/shared-data.js';
import { addExportJobTable, createVaultExportModule } from '../../test/support/vault-export-module.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';
import { cloneCopy, loadSyntheaTemplate, seedResources, sharedResources } from './export-seed.js';

const SEED_BATCH = 2_000;
const MB = 1024 * 1024;
const TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'Encounter',
  'Procedure',
  'Immunization',
  'MedicationRequest',
];
const STUDY_ID = keccak256(toBytes('careledger-bench:research-release')) as Hex;
const RESEARCHER = getAddress(slice(keccak256(toBytes('careledger-bench:researcher')), 12));
const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const RESEARCH = { 'x-careledger-identity': `Organization/${RESEARCHER}`, 'x-careledger-purpose': 'HRESCH' };

function ledgerAddressOf(patientId: string): Address {
  return getAddress(slice(keccak256(toBytes(`careledger-bench:patient:${patientId}`)), 12));
}

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

export const researchReleaseGroup: Group = {
  name: 'research-release',
  description:
    'study $export of N consenting Synthea patients: de-identified resources/s beside the plain export and de-identification alone',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const template = loadSyntheaTemplate(BULK_DIR);
    const patients = ctx.options.sizes?.['research-release'] ?? template.patients * 3;
    const copies = Math.max(1, Math.ceil(patients / template.patients));
    const vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
    const cleanup = ctx.onInterrupt(() => vault.close());
    const storage = (() => {
      addExportJobTable(vault);
      return new SqliteExportJobStorage(vault.db);
    })();
    const clock = () => vault.clock.now;
    const nowSeconds = Math.floor(vault.clock.now.getTime() / 1000);
    const study: Study = {
      id: STUDY_ID,
      researcher: RESEARCHER,
      protocolHash: keccak256(toBytes('protocol')),
      profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
      categories: ALL_DATA_CATEGORIES,
      resourceTypes: TYPES,
      notBefore: nowSeconds - 3600,
      notAfter: nowSeconds + 86_400,
      k: Math.min(3, copies),
      ethicsBoards: [],
      status: 'open',
    };
    const cohort: { patient: Address; patientIds: string[]; creditAddress: Address }[] = [];
    const release = createResearchReleaseModule({
      ports: {
        study: async (id) => (id === STUDY_ID ? study : undefined),
        cohort: async () => cohort,
        consentBlock: async () => 1n,
        anchorRelease: async () => undefined,
        release: async () => undefined,
      },
      dir: vault.dir,
      jobs: storage,
      member: '0x00000000000000000000000000000000000000Aa',
      baseUrl: 'http://bench.test',
      authenticate: createAuthenticator({ organization: 'Bench', devIdentityHeader: true }),
      secret: new Uint8Array(32).fill(9),
      now: clock,
    });
    const bulk = createVaultExportModule(vault, {
      storage,
      source: release.exportSource(createVaultExportSource(vault.repo)),
      baseUrl: 'http://bench.test',
    });
    release.attach(bulk.service);
    try {
      const seedStart = performance.now();
      await seedResources(vault, sharedResources(template));
      let seeded = 0;
      const sample: Resource[] = [];
      for (let copy = 0; copy < copies; copy++) {
        const clone = cloneCopy(template, `c${copy}-`).map((resource) => {
          if (resource.resourceType !== 'Patient') return resource;
          const address = ledgerAddressOf(resource.id as string);
          cohort.push({ patient: address, patientIds: [resource.id as string], creditAddress: address });
          vault.grants.add({
            patient: address,
            grantee: studyGrantee(STUDY_ID),
            categories: [...ALL_DATA_CATEGORIES],
            purposes: ['HRESCH'],
          });
          return {
            ...resource,
            identifier: [...(resource.identifier ?? []), { system: LEDGER_ADDRESS_SYSTEM, value: address }],
          };
        });
        if (copy === 0) sample.push(...clone.filter((r) => TYPES.includes(r.resourceType)));
        for (let i = 0; i < clone.length; i += SEED_BATCH)
          await seedResources(vault, clone.slice(i, i + SEED_BATCH));
        seeded += clone.length;
        ctx.progress(`research-release: seeded ${copy + 1} of ${copies} copies (${seeded} resources)`);
      }
      const seedSeconds = (performance.now() - seedStart) / 1000;
      await bulk.start();
      const app = createNodeApp();
      app.route('/fhir', bulk.routes);
      app.route('/research', release.routes);

      // The plain read of the same types: a clinician's system-level export (decrypt, decide, seal).
      const t0 = performance.now();
      const plain = await app.request(`/fhir/$export?_type=${TYPES.join(',')}`, {
        headers: { ...STAFF, prefer: 'respond-async' },
      });
      if (plain.status !== 202) throw new Error(`plain kick-off answered ${plain.status}`);
      await bulk.service.idle();
      const plainSeconds = (performance.now() - t0) / 1000;
      const plainStatus = await app.request(
        new URL(plain.headers.get('content-location') as string).pathname,
        { headers: STAFF },
      );
      const plainManifest = (await plainStatus.json()) as { output: { count: number }[] };
      const plainCount = plainManifest.output.reduce((n, o) => n + o.count, 0);

      // The release.
      globalThis.gc?.();
      const rssBefore = process.memoryUsage.rss();
      const stopProfile = ctx.options.profile ? await startCpuProfile() : undefined;
      const rss = sampleRss();
      const t1 = performance.now();
      const kicked = await app.request(`/research/studies/${STUDY_ID}/$export`, {
        method: 'POST',
        headers: { ...RESEARCH, prefer: 'respond-async' },
      });
      if (kicked.status !== 202)
        throw new Error(`release kick-off answered ${kicked.status}: ${await kicked.text()}`);
      await release.service.idle();
      const releaseSeconds = (performance.now() - t1) / 1000;
      const peak = rss.stop();
      const profileNotes: string[] = [];
      if (stopProfile !== undefined) {
        const summary = summarizeCpuProfile(await stopProfile());
        profileNotes.push(
          `Profile of the release: by module: ${formatProfileShares(summary.modules)}; top functions (self): ${formatProfileShares(summary.functions)}.`,
        );
      }
      const status = await app.request(new URL(kicked.headers.get('content-location') as string).pathname, {
        headers: RESEARCH,
      });
      if (status.status !== 200)
        throw new Error(`release status answered ${status.status}: ${await status.text()}`);
      const manifest = (await status.json()) as {
        extension: { counts: { records: number; suppressedRecords: number } };
      };
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

      const size = `${cohort.length} patients, ${plainCount} resources of ${TYPES.length} types`;
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
      await bulk.stop();
      cleanup();
      vault.close();
      rmSync(vault.dir, { recursive: true, force: true });
    }
  },
};
