/**
 * One member's release path for the research benchmarks, in process: a real vault (SQLite, envelope
 * encryption, transparency log), the node's bulk `$export` job system with the study release module
 * attached, and the research registry replaced by an in-memory study, cohort and anchor table (the
 * chain is not what is measured). Patients are enrolled as they are seeded: a ledger address on the
 * Patient and a grant to the study (purpose HRESCH), as a patient's join would give.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import { type Address, getAddress, type Hex, keccak256, slice, toBytes } from 'viem';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import { createVaultExportSource } from '../../src/export/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { ALL_DATA_CATEGORIES } from '../../src/ledger/codes.js';
import { type ReleaseAnchor, type Study, studyGrantee } from '../../src/research/index.js';
import {
  type AnchoredRelease,
  createResearchReleaseModule,
  fileNameOf,
  hashDeidProfile,
  type ReleaseManifest,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import { type AnchoredReleaseJson, verifyRelease } from '../../src/research/release/verify-release.js';
import { SqliteExportJobStorage } from '../../src/storage/sqlite/sqlite-export-job-storage.js';
import { openTestVault, type TestVault } from '../../test/support/open-test-vault.js';
import { addExportJobTable, createVaultExportModule } from '../../test/support/vault-export-module.js';

const MEMBER = '0x00000000000000000000000000000000000000Aa';
export const RESEARCHER = getAddress(slice(keccak256(toBytes('careledger-bench:researcher')), 12));
export const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
export const RESEARCH = {
  'x-careledger-identity': `Organization/${RESEARCHER}`,
  'x-careledger-purpose': 'HRESCH',
};
export const MB = 1024 * 1024;

export interface ResearchBenchNode {
  readonly vault: TestVault;
  readonly app: Hono;
  readonly study: Study;
  /** Gives the Patient a ledger address and a grant to the study; returns the Patient to seed. */
  enroll(patient: Resource): Resource;
  readonly patients: number;
  /** Starts the job system (after seeding) and mounts the routes. */
  start(): Promise<void>;
  /** Kicks a release off and waits until its job is done; the manifest. */
  release(): Promise<ReleaseManifest>;
  /** A plain system-level `$export` of the study's types by a clinician; resources exported. */
  plainExport(): Promise<number>;
  /** Downloads the release's files into `dir` as the researcher would. */
  download(manifest: ReleaseManifest, dir: string): Promise<void>;
  /** `careledger research verify`'s work over a download: file hashes, then the anchor. */
  verify(manifest: ReleaseManifest, dir: string): Promise<void>;
  close(): Promise<void>;
}

function ledgerAddressOf(patientId: string): Address {
  return getAddress(slice(keccak256(toBytes(`careledger-bench:patient:${patientId}`)), 12));
}

function anchorJson(anchor: AnchoredRelease): AnchoredReleaseJson {
  return {
    studyId: anchor.studyId,
    manifestHash: anchor.manifestHash,
    profileHash: anchor.profileHash,
    consentBlock: anchor.consentBlock.toString(),
    records: anchor.records,
    suppressed: anchor.suppressed,
  };
}

export async function openResearchBenchNode(options: {
  readonly name: string;
  readonly resourceTypes: readonly string[];
  readonly k: number;
}): Promise<ResearchBenchNode> {
  const vault = await openTestVault(MEMBER);
  addExportJobTable(vault);
  const storage = new SqliteExportJobStorage(vault.db);
  const nowSeconds = Math.floor(vault.clock.now.getTime() / 1000);
  const studyId = keccak256(toBytes(`careledger-bench:${options.name}`)) as Hex;
  const study: Study = {
    id: studyId,
    researcher: RESEARCHER,
    protocolHash: keccak256(toBytes('protocol')),
    profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
    categories: ALL_DATA_CATEGORIES,
    resourceTypes: options.resourceTypes,
    notBefore: nowSeconds - 3600,
    notAfter: nowSeconds + 86_400,
    k: options.k,
    ethicsBoards: [],
    status: 'open',
  };
  const cohort: { patient: Address; patientIds: string[]; creditAddress: Address }[] = [];
  const anchors = new Map<Hex, AnchoredRelease>();
  const release = createResearchReleaseModule({
    ports: {
      study: async (id) => (id === studyId ? study : undefined),
      cohort: async () => cohort,
      consentBlock: async () => 1n,
      anchorRelease: async (anchor: ReleaseAnchor) => {
        anchors.set(anchor.manifestHash, { ...anchor, member: MEMBER });
      },
      release: async (_id, hash) => anchors.get(hash),
    },
    dir: vault.dir,
    jobs: storage,
    member: MEMBER,
    baseUrl: 'http://bench.test',
    authenticate: createAuthenticator({ organization: 'Bench', devIdentityHeader: true }),
    secret: new Uint8Array(32).fill(9),
    now: () => vault.clock.now,
  });
  const bulk = createVaultExportModule(vault, {
    storage,
    source: release.exportSource(createVaultExportSource(vault.repo)),
    baseUrl: 'http://bench.test',
  });
  release.attach(bulk.service);
  const app = createNodeApp();
  app.route('/fhir', bulk.routes);
  app.route('/research', release.routes);

  const statusOf = async (kickOff: Response, headers: Record<string, string>): Promise<Response> =>
    app.request(new URL(kickOff.headers.get('content-location') as string).pathname, { headers });

  return {
    vault,
    app,
    study,
    get patients() {
      return cohort.length;
    },
    enroll(patient) {
      const address = ledgerAddressOf(patient.id as string);
      cohort.push({ patient: address, patientIds: [patient.id as string], creditAddress: address });
      vault.grants.add({
        patient: address,
        grantee: studyGrantee(studyId),
        categories: [...ALL_DATA_CATEGORIES],
        purposes: ['HRESCH'],
      });
      const identifier = (patient as { identifier?: unknown[] }).identifier ?? [];
      return {
        ...patient,
        identifier: [...identifier, { system: LEDGER_ADDRESS_SYSTEM, value: address }],
      } as Resource;
    },
    start: () => bulk.start(),
    async plainExport() {
      const kicked = await app.request(`/fhir/$export?_type=${options.resourceTypes.join(',')}`, {
        headers: { ...STAFF, prefer: 'respond-async' },
      });
      if (kicked.status !== 202) throw new Error(`plain kick-off answered ${kicked.status}`);
      await bulk.service.idle();
      const manifest = (await (await statusOf(kicked, STAFF)).json()) as { output: { count: number }[] };
      return manifest.output.reduce((n, o) => n + o.count, 0);
    },
    async release() {
      const kicked = await app.request(`/research/studies/${studyId}/$export`, {
        method: 'POST',
        headers: { ...RESEARCH, prefer: 'respond-async' },
      });
      if (kicked.status !== 202)
        throw new Error(`release kick-off answered ${kicked.status}: ${await kicked.text()}`);
      await release.service.idle();
      const status = await statusOf(kicked, RESEARCH);
      if (status.status !== 200)
        throw new Error(`release status answered ${status.status}: ${await status.text()}`);
      return (await status.json()) as ReleaseManifest;
    },
    async download(manifest, dir) {
      mkdirSync(dir, { recursive: true });
      for (const entry of [...manifest.output, ...manifest.error]) {
        const file = await app.request(new URL(entry.url).pathname, { headers: RESEARCH });
        if (file.status !== 200) throw new Error(`file download answered ${file.status}`);
        writeFileSync(join(dir, fileNameOf(entry)), new Uint8Array(await file.arrayBuffer()));
      }
    },
    async verify(manifest, dir) {
      await verifyRelease(manifest, dir, async (_id, hash) => {
        const anchor = anchors.get(hash);
        return anchor === undefined ? undefined : anchorJson(anchor);
      });
    },
    async close() {
      await bulk.stop();
      vault.close();
      rmSync(vault.dir, { recursive: true, force: true });
    },
  };
}

export { sampleRss } from '../support/sample-rss.js';
