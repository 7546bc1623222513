/**
 * Issue 18's "How it will be checked", end to end with two real members holding data (decision 0041):
 * held-out Synthea patients are imported (`careledger import`'s client) into a hospital and a lab,
 * join a study with their own keys; the research group starts one release round at its own node, which
 * kicks off the study's release at both members; the members decide k over the union (a coordinator
 * member, keyed links and class keys only). Checked: a patient who moved (ZIP3 021 at the hospital,
 * 018 at the lab) is in a class of one in the union though each member's own classes hold k, and is
 * left out at both; a patient who revoked is missing; a linkage attack with every patient's original
 * demographics finds nobody in the files, manifests or logs, and no union class is below k; each
 * manifest verifies against ResearchRegistry; a tampered file fails with the file named (exit 65).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/commands/import.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import {
  fileNameOf,
  hashDeidProfile,
  type ReleaseManifest,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import { runResearchVerify } from '../../src/research/release/research-release-commands.js';
import { runReleaseRound } from '../../src/research/release/research-round-command.js';
import { studyGrantee } from '../../src/research/study.js';
import { type SignedGrantRequest, signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { SYNTHEA_DIR } from '../support/shared-data.js';
import {
  type ResearchConsortium,
  type ResearchMember,
  startResearchConsortium,
} from './research-consortium.js';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON read back from files
type Json = Record<string, any>;

const STUDY = keccak256(toHex('careledger-test:cross-member-release'));
const K = 2;
const CATEGORIES = ['demographics', 'conditions', 'vital-signs', 'laboratory'];
/** Held out: no other test reads these seven people. */
const HELD_OUT = [
  'Nohemi_Mertz_0862f09f-bfe4-4150-a6cf-2404f27ce4b7.json',
  'Versie_Botsford_56121408-15fe-47a5-8279-6f05dee51464.json',
  'Joseph_Goodwin_1d572d5f-8403-44f2-8b5f-b25e841e568c.json',
  'Marion_Wintheiser_bbe88fd0-26fc-4285-8a6f-53bbb76d8897.json',
  'Shane_Jast_b2e915e9-3a2e-4f0b-93c6-563bd8aea230.json',
  'Estrella_Hettinger_e3f14a47-fdfd-49ee-a571-a540092df424.json',
];
/**
 * Birth year and sex alike; ZIP at the hospital and at the lab. 1–2 live in 021 at both, 3–4 in 018 at
 * both; 5 moved (021 at the hospital, 018 at the lab); 6 joins and then revokes.
 */
const ZIPS: readonly [string, string][] = [
  ['02139', '02139'],
  ['02141', '02141'],
  ['01801', '01801'],
  ['01803', '01803'],
  ['02115', '01810'],
  ['02118', '02118'],
];

interface Person {
  readonly original: Json;
  readonly id: string;
  readonly key: Hex;
  grant?: SignedGrantRequest;
}

let net: ResearchConsortium;
const people: Person[] = [];
const logLines: string[] = [];

function synthea(file: string, index: number, zip: string): { patient: Json; records: Json[] } {
  const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as { entry: { resource: Json }[] };
  const resources = bundle.entry.map((e) => e.resource);
  const patient = structuredClone(resources.find((r) => r.resourceType === 'Patient') as Json);
  patient.birthDate = `1980-0${index + 1}-1${index}`;
  patient.gender = 'female';
  patient.address[0].postalCode = zip;
  delete patient.deceasedDateTime;
  const pick = (type: string, n: number) => resources.filter((r) => r.resourceType === type).slice(0, n);
  const records = [...pick('Observation', 2), ...pick('Condition', 1)].map((r) => {
    const { encounter: _encounter, ...rest } = structuredClone(r);
    return { ...rest, subject: { reference: `Patient/${patient.id}` } };
  });
  return { patient, records };
}

/** `careledger import`'s client over HTTP: Patients first, then their records, as NDJSON. */
async function importInto(member: ResearchMember, side: 0 | 1): Promise<void> {
  const dir = join(net.dir, `import-${member.name}`);
  mkdirSync(dir, { recursive: true });
  const sets = HELD_OUT.map((file, i) => synthea(file, i, (ZIPS[i] as [string, string])[side]));
  writeFileSync(join(dir, '1-Patient.ndjson'), `${sets.map((s) => JSON.stringify(s.patient)).join('\n')}\n`);
  writeFileSync(
    join(dir, '2-Records.ndjson'),
    `${sets.flatMap((s) => s.records.map((r) => JSON.stringify(r))).join('\n')}\n`,
  );
  const { summary } = await runImport({
    inputs: [join(dir, '1-Patient.ndjson'), join(dir, '2-Records.ndjson')],
    nodeUrl: member.url,
    reportFile: join(dir, 'report.json'),
    stateFile: join(dir, 'state.json'),
    identity: 'Practitioner/dr-1',
    quiet: true,
  });
  expect(summary.failed, JSON.stringify(summary)).toBe(0);
  if (side === 0)
    for (const s of sets) people.push({ original: s.patient, id: s.patient.id, key: generatePrivateKey() });
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(response.status, `${url}: ${await response.clone().text()}`).toBeLessThan(300);
  return response;
}

const admin = (m: ResearchMember) => ({ authorization: `Bearer ${m.adminToken}` });

beforeAll(async () => {
  net = await startResearchConsortium((line) => logLines.push(line));
  await importInto(net.hospital, 0);
  await importInto(net.lab, 1);
  const now = Math.floor(Date.now() / 1000);
  for (const person of people) {
    for (const member of [net.hospital, net.lab])
      await enrolPatientKeyInApp(member.node.app, person.id, person.key);
    person.grant = await signGrantForNewPatient({
      patientKey: person.key,
      chainId: 31337,
      consentRegistry: net.deployment.contracts.consentRegistry,
      grantee: studyGrantee(STUDY),
      categories: CATEGORIES,
      purposes: ['HRESCH'],
      nowSeconds: now - 120,
    });
    await post(`${net.hospital.url}/ledger/consent/grants?wait=true`, JSON.parse(person.grant.body));
    // The lab enforces the grant too: it receives the opening (the terms behind the on-chain commitment).
    await post(`${net.lab.url}/ledger/consent/openings`, {
      grantId: person.grant.grantId,
      ...JSON.parse(person.grant.body),
    });
  }
  // The research group proposes with its protocol document; the hospital, its ethics board, approves.
  await post(
    `${net.research.url}/admin/research/studies`,
    {
      id: STUDY,
      protocol: { title: 'Glucose across members', summary: 'Records without names or exact dates.' },
      profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
      categories: CATEGORIES,
      resourceTypes: ['Patient', 'Observation', 'Condition'],
      notBefore: new Date((now - 3600) * 1000).toISOString(),
      notAfter: new Date((now + 30 * 86_400) * 1000).toISOString(),
      k: K,
      ethicsBoards: [net.hospital.account.address],
    },
    admin(net.research),
  );
  await net.sync();
  await post(`${net.hospital.url}/admin/research/studies/${STUDY}/approvals`, {}, admin(net.hospital));
  await net.sync();
  await post(`${net.research.url}/admin/research/studies/${STUDY}/open`, {}, admin(net.research));
  // Patient 6 leaves the study before any release.
  const leaving = people[5] as Person;
  await post(
    `${net.hospital.url}/ledger/consent/revocations?wait=true`,
    JSON.parse((await leaving.grant?.revoke()) as string),
  );
  await net.sync();
}, 600_000);

afterAll(async () => {
  await net?.stop();
});

interface RoundView {
  id: string;
  state: 'running' | 'done' | 'failed';
  members: {
    address: Address;
    name: string;
    state: string;
    manifest?: ReleaseManifest;
    manifestHash?: Hex;
    error?: string;
  }[];
}

const roundOf = async (id: string): Promise<RoundView> =>
  (await (
    await fetch(`${net.research.url}/admin/research/releases/${id}`, { headers: admin(net.research) })
  ).json()) as RoundView;

let round: RoundView;
const downloads = new Map<string, { dir: string; manifest: ReleaseManifest }>();

function readNdjson(dir: string, manifest: ReleaseManifest): Json[] {
  return manifest.output.flatMap((entry) =>
    readFileSync(join(dir, fileNameOf(entry)), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Json),
  );
}

describe('a release round across two members holding data', () => {
  it('refuses a release at one member alone where two hold data, saying a round is needed', async () => {
    const response = await fetch(`${net.hospital.url}/research/studies/${STUDY}/$export`, {
      method: 'POST',
      headers: {
        'x-careledger-identity': `Organization/${net.research.account.address}`,
        'x-careledger-purpose': 'HRESCH',
        prefer: 'respond-async',
      },
    });
    expect(response.status).toBe(412);
    expect(JSON.stringify(await response.json())).toContain('a release is one round across all of them');
  });

  it('is started at the research member, runs at both, and leaves out at both the patient the union would single out', async () => {
    const started = await post(
      `${net.research.url}/admin/research/releases`,
      { studyId: STUDY },
      admin(net.research),
    );
    round = (await started.json()) as RoundView;
    expect(round.members.map((m) => m.name).sort()).toEqual(
      [net.lab.organization, net.hospital.organization].sort(),
    );
    // Each member's jobs end (the k round is decided between them while they run); then the round is asked.
    for (let i = 0; i < 20 && round.state === 'running'; i++) {
      await Promise.all([
        net.hospital.node.researchRelease.service.idle(),
        net.lab.node.researchRelease.service.idle(),
      ]);
      round = await roundOf(round.id);
    }
    expect(round.state, JSON.stringify(round.members.map((m) => m.error))).toBe('done');
    for (const member of round.members) {
      const manifest = member.manifest as ReleaseManifest;
      expect(manifest.extension.round).toMatchObject({
        id: round.id,
        members: expect.arrayContaining([net.hospital.account.address, net.lab.account.address]),
        patients: 5,
        suppressedPatients: 1,
      });
      expect(manifest.extension.counts).toMatchObject({ cohort: 5, contributors: 4, suppressedPatients: 1 });
      // Downloaded through the research member's node, which relays the member's file with its own token.
      const dir = join(net.dir, `download-${member.name.split(' ')[0]}`);
      mkdirSync(dir, { recursive: true });
      for (const entry of manifest.output) {
        const name = fileNameOf(entry);
        const file = await fetch(
          `${net.research.url}/admin/research/releases/${round.id}/files/${member.address}/${name}`,
          {
            headers: admin(net.research),
          },
        );
        expect(file.status).toBe(200);
        writeFileSync(join(dir, name), Buffer.from(await file.arrayBuffer()));
      }
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
      downloads.set(member.address, { dir, manifest });
    }
  });

  it('gives no class below k in the union, though each member alone would have released the patient who moved', () => {
    const classesOf = new Map<string, Set<string>>();
    for (const { dir, manifest } of downloads.values()) {
      for (const p of readNdjson(dir, manifest).filter((r) => r.resourceType === 'Patient')) {
        const set = classesOf.get(p.id) ?? new Set<string>();
        set.add(`${p.birthDate}|${p.gender}|${p.address?.[0]?.postalCode}`);
        classesOf.set(p.id, set);
      }
    }
    expect(classesOf.size).toBe(4);
    const sizes = new Map<string, number>();
    for (const set of classesOf.values()) {
      const key = [...set].sort().join('+');
      sizes.set(key, (sizes.get(key) ?? 0) + 1);
    }
    expect(
      [...sizes.values()].every((n) => n >= K),
      JSON.stringify([...sizes]),
    ).toBe(true);
    // Every released Patient has one class at both members: the mover's pair (021, 018) is nowhere.
    expect([...classesOf.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('leaves the patient who revoked out, and finds nobody by their original demographics in files, manifests or logs', () => {
    const released: string[] = [];
    const strings = (value: unknown): void => {
      if (typeof value === 'string') released.push(value);
      else if (Array.isArray(value)) value.forEach(strings);
      else if (typeof value === 'object' && value !== null) Object.values(value).forEach(strings);
    };
    for (const { dir, manifest } of downloads.values()) {
      strings(readNdjson(dir, manifest));
      strings(manifest);
    }
    for (const person of people) {
      const p = person.original;
      const secrets = [
        person.id,
        p.birthDate,
        ...p.name.flatMap((n: Json) => [n.family, ...(n.given ?? [])]),
        ...p.address.flatMap((a: Json) => [...a.line, a.city, a.postalCode]),
        ...(p.telecom ?? []).map((t: Json) => t.value),
        ...(p.identifier ?? []).map((i: Json) => i.value),
      ].filter((s): s is string => typeof s === 'string' && s.length >= 4);
      for (const secret of secrets) {
        const distinctive = /[g-z ]/i.test(secret);
        const found = (haystack: string[]) =>
          haystack.some((v) => v === secret || (distinctive && v.includes(secret)));
        expect(found(released), `a release links ${person.id}`).toBe(false);
        if (distinctive) expect(found(logLines), `a log line names ${person.id}`).toBe(false);
      }
    }
    const patients = [...downloads.values()].flatMap(({ dir, manifest }) =>
      readNdjson(dir, manifest).filter((r) => r.resourceType === 'Patient'),
    );
    // Four released at each member: 1–4; 5 (moved) suppressed, 6 (revoked) not in the cohort.
    expect(patients).toHaveLength(8);
  });

  it('verifies each manifest against ResearchRegistry, and names a tampered file (exit 65)', async () => {
    for (const [member, { dir, manifest }] of downloads) {
      const identity = `Organization/${net.research.account.address}`;
      const nodeUrl = member === net.hospital.account.address ? net.hospital.url : net.lab.url;
      const verified = await runResearchVerify({
        nodeUrl,
        identity,
        manifestPath: join(dir, 'manifest.json'),
        dir,
      });
      expect(verified.anchor).toMatchObject({ records: manifest.extension.counts.records, suppressed: 1 });
      const anchored = await fetch(
        `${net.research.url}/admin/research/anchors/${STUDY}/${verified.manifestHash}`,
        {
          headers: admin(net.research),
        },
      );
      expect(await anchored.json()).toMatchObject({
        member,
        records: manifest.extension.counts.records,
        block: expect.stringMatching(/^[1-9][0-9]*$/),
      });
      const name = fileNameOf(manifest.output.find((f) => f.type === 'Observation') as { url: string });
      const path = join(dir, name);
      writeFileSync(path, readFileSync(path, 'utf8').replace('"final"', '"amended"'));
      const error = await runResearchVerify({
        nodeUrl,
        identity,
        manifestPath: join(dir, 'manifest.json'),
        dir,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ details: { reason: 'file-hash-mismatch', file: name } });
      expect(exitCodeFor(error)).toBe(65);
    }
  });

  it('runs again from the command line (`careledger research release`), each member’s download verifying against the chain', async () => {
    const out = join(net.dir, 'cli-release');
    const progress: string[] = [];
    const round = await runReleaseRound({
      url: net.research.url,
      token: net.research.adminToken,
      studyId: STUDY,
      outDir: out,
      sleep: async () => {
        await Promise.all([
          net.hospital.node.researchRelease.service.idle(),
          net.lab.node.researchRelease.service.idle(),
        ]);
      },
      say: (line) => progress.push(line),
    });
    expect(round.state).toBe('done');
    for (const member of [net.hospital, net.lab]) {
      const dir = join(out, member.account.address);
      const verified = await runResearchVerify({
        nodeUrl: member.url,
        identity: `Organization/${net.research.account.address}`,
        manifestPath: join(dir, 'manifest.json'),
        dir,
      });
      expect(verified.manifest.extension.round?.id).toBe(round.id);
      expect(verified.manifest.extension.counts.suppressedPatients).toBe(1);
    }
    expect(progress.some((line) => line.includes('records in'))).toBe(true);
  });
});
