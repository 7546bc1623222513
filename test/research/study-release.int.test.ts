/**
 * Study releases on a real member node (real chain, real SQLite, real HTTP on a port), issue 18
 * items 3 and 4: Synthea patients consent to a study (EIP-712 grants to the study's address, purpose
 * HRESCH), the researcher runs `careledger research export`, gets de-identified NDJSON with k-anonymity
 * enforced, each contributor finds an AuditEvent in their history; a tampered file fails
 * `careledger research verify`; a revoked patient is absent from the next release; refusals say why;
 * a linkage attack with the original demographics finds nobody in the files, logs or errors.
 *
 * The ResearchRegistry reads (study, anchor) are the test's own (the registry's contract is tested
 * with it); the cohort is the node's own from its chain index when the node has it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Address, type Hex, keccak256, toBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import {
  hashDeidProfile,
  type ReleaseManifest,
  type ReleasePorts,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import {
  runResearchExport,
  runResearchVerify,
} from '../../src/research/release/research-release-commands.js';
import { deriveStudyKey } from '../../src/research/release/study-key.js';
import type { ReleaseAnchor, Study } from '../../src/research/study.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../../src/research/study.js';
import { createResourcePseudonym } from '../../src/research/study-pseudonym.js';
import { type SignedGrantRequest, signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { findFreePort } from '../support/free-port.js';
import { SYNTHEA_DIR } from '../support/shared-data.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON read back from files
type Json = Record<string, any>;

const STUDY_ID = keccak256(toBytes('careledger-test:study-release')) as Hex;
const RESEARCHER = privateKeyToAccount(generatePrivateKey());
const SOMEONE_ELSE = privateKeyToAccount(generatePrivateKey());
const NOW = Math.floor(Date.now() / 1000);
const CATEGORIES = ['demographics', 'conditions', 'vital-signs', 'laboratory'] as const;
const K = 3;

function study(overrides: Partial<Study> = {}): Study {
  return {
    id: STUDY_ID,
    researcher: RESEARCHER.address,
    protocolHash: keccak256(toBytes('protocol')),
    profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
    categories: CATEGORIES,
    resourceTypes: ['Patient', 'Observation', 'Condition'],
    notBefore: NOW - 3600,
    notAfter: NOW + 86_400,
    k: K,
    ethicsBoards: [],
    status: 'open',
    ...overrides,
  };
}

const studies = new Map<Hex, Study>([[STUDY_ID, study()]]);
const anchors = new Map<string, ReleaseAnchor>();
const logLines: string[] = [];
let solo: SoloNode;
let base: string;

const ports: ReleasePorts = {
  study: async (id) => studies.get(id),
  cohort: async (s, block) => {
    const real = (solo.node as { research?: { ports: Pick<ReleasePorts, 'cohort'> } }).research;
    if (real !== undefined) return real.ports.cohort(s, block);
    return localCohort();
  },
  consentBlock: async () => BigInt((await solo.node.indexer.status()).indexedBlock ?? 0),
  anchorRelease: async (anchor) => {
    anchors.set(`${anchor.studyId}|${anchor.manifestHash}`, anchor);
  },
  release: async (studyId, manifestHash) => {
    const a = anchors.get(`${studyId}|${manifestHash}`);
    return a === undefined ? undefined : { ...a, member: undefined };
  },
};

interface Person {
  readonly original: Json;
  localId: string;
  grant: SignedGrantRequest;
  revoked: boolean;
}
const people: Person[] = [];

/** When the node has no cohort of its own: the consenting people the test knows of. */
function localCohort() {
  return people
    .filter((p) => !p.revoked)
    .map((p) => ({ patient: p.grant.patient, patientIds: [p.localId], creditAddress: p.grant.patient }));
}

const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };
const request = (path: string, init: RequestInit = {}) => solo.node.app.request(path, init);

async function create(resource: Json): Promise<string> {
  const response = await request(`/fhir/${resource.resourceType}`, {
    method: 'POST',
    headers: STAFF,
    body: JSON.stringify(resource),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/**
 * Six Synthea people: five share birth year, sex and ZIP3 (one class of 5), the fifth is alone. The
 * sixth consented to research in general rather than to this study.
 */
function syntheaPeople(): { patient: Json; records: Json[] }[] {
  const files = [
    'Annetta_Hoppe_0dd77edd-bffd-4258-ac40-c07af6dd734a.json',
    'Carlene_Schamberger_cc19113f-aa63-434b-ab4e-62a5f97f1f0b.json',
    'Cathryn_Windler_5b477e00-ba36-4786-b672-a2816b3b9149.json',
    'Christopher_Abshire_028250cc-cfc0-4dee-a771-78fde1275fcb.json',
    'Clint_Champlin_4e83f4d0-0461-47bf-9711-292d8f5d69ff.json',
    'Dannie_Kshlerin_21177cbf-c2b8-4f55-9765-dc333a5fd5d9.json',
  ];
  return files.map((file, index) => {
    const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as {
      entry: { resource: Json }[];
    };
    const resources = bundle.entry.map((e) => e.resource);
    const patient = structuredClone(resources.find((r) => r.resourceType === 'Patient') as Json);
    const inClass = index !== 4;
    patient.birthDate = inClass ? `1980-0${index + 1}-1${index}` : '1955-06-01';
    patient.gender = inClass ? 'female' : 'male';
    patient.address[0].postalCode = inClass ? `0213${index}` : '01801';
    delete patient.deceasedDateTime;
    const pick = (type: string, n: number) => resources.filter((r) => r.resourceType === type).slice(0, n);
    const records = [...pick('Observation', 3), ...pick('Condition', 2)].map((r) => {
      const { id: _id, encounter: _encounter, ...rest } = structuredClone(r);
      return rest;
    });
    return { patient, records };
  });
}

async function relay(path: string, body: string): Promise<void> {
  const response = await request(`${path}?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
}

beforeAll(async () => {
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  solo = await startSoloNode(
    { port, publicUrl: base },
    { researchPorts: ports, log: (l) => logLines.push(l) },
  );
  for (const [index, { patient, records }] of syntheaPeople().entries()) {
    const key = generatePrivateKey();
    const { id: _synthea, ...toCreate } = patient;
    const localId = await create(toCreate);
    await enrolPatientKeyInApp(solo.node.app, localId, key);
    for (const record of records) await create({ ...record, subject: { reference: `Patient/${localId}` } });
    const grant = await signGrantForNewPatient({
      patientKey: key,
      chainId: 31337,
      consentRegistry: solo.node.deployment.contracts.consentRegistry,
      grantee: index === 5 ? GENERAL_RESEARCH_ADDRESS : studyGrantee(STUDY_ID),
      categories: [...CATEGORIES],
      purposes: ['HRESCH'],
      nowSeconds: NOW - 120,
    });
    await relay('/ledger/consent/grants', grant.body);
    people.push({ original: patient, localId, grant, revoked: false });
  }
  await solo.node.indexer.sync();
}, 300_000);

afterAll(async () => {
  await solo?.stop();
});

const researcher = { identity: `Organization/${RESEARCHER.address}` };
const settle = () => solo.node.researchRelease.service.idle();

function readNdjson(dir: string, manifest: ReleaseManifest): Json[] {
  return manifest.output.flatMap((entry) => {
    const name = new URL(entry.url).pathname.split('/').at(-1) as string;
    return readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Json);
  });
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, out);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) strings(item, out);
  return out;
}

/** The linkage attack's inputs: every direct identifier and exact date of the original demographics. */
function demographicsOf(person: Person): string[] {
  const p = person.original;
  const secrets = [
    person.localId,
    p.id,
    p.birthDate,
    ...p.name.flatMap((n: Json) => [n.family, ...(n.given ?? [])]),
    ...p.address.flatMap((a: Json) => [...a.line, a.city, a.postalCode]),
    ...p.telecom.map((t: Json) => t.value),
    ...p.identifier.map((i: Json) => i.value),
    ...strings(p.extension.filter((e: Json) => /mothersMaidenName|birthPlace/.test(e.url))).filter(
      (s) => !s.startsWith('http') && s !== 'Massachusetts' && s !== 'US',
    ),
  ];
  return secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
}

/** Found if a value equals a secret, or (for a secret with letters beyond hex) contains it. */
function linked(haystack: string[], secret: string): boolean {
  const distinctive = /[g-z ]/i.test(secret);
  return haystack.some((value) => value === secret || (distinctive && value.includes(secret)));
}

let first: { dir: string; manifest: ReleaseManifest };

describe('a study release on a member node', () => {
  it('releases the consenting cohort de-identified, suppresses the class below k, and counts it', async () => {
    const dir = join(solo.dir, 'release-1');
    const progress: string[] = [];
    const manifest = await runResearchExport({
      nodeUrl: base,
      ...researcher,
      studyId: STUDY_ID,
      outDir: dir,
      sleep: settle,
      say: (line) => progress.push(line),
    });
    first = { dir, manifest };
    const resources = readNdjson(dir, manifest);
    const patients = resources.filter((r) => r.resourceType === 'Patient');
    // Five share 1980, female, 021; the fifth person (1955, male, 018) is alone in a class below k = 3.
    expect(patients).toHaveLength(5);
    expect(new Set(patients.map((p) => `${p.birthDate}|${p.gender}|${p.address?.[0]?.postalCode}`))).toEqual(
      new Set(['1980|female|021']),
    );
    expect(manifest.extension).toMatchObject({
      studyId: STUDY_ID,
      profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
      k: K,
      counts: {
        cohort: 6,
        contributors: 5,
        suppressedPatients: 1,
        suppressedClasses: 1,
        smallestReleasedClass: 5,
      },
    });
    expect(manifest.extension.counts.suppressedRecords).toBe(6);
    expect(manifest.extension.counts.records).toBe(resources.length);
    expect(Number(manifest.extension.consentBlock)).toBeGreaterThan(0);
    expect(manifest.output.every((f) => /^[0-9a-f]{64}$/.test(f.extension.sha256))).toBe(true);
    // Only the study's types; no free text; references point at pseudonyms inside the release.
    expect(new Set(resources.map((r) => r.resourceType))).toEqual(
      new Set(['Patient', 'Observation', 'Condition']),
    );
    expect(JSON.stringify(resources)).not.toMatch(/"text":|"div":|"note":/);
    // The version proof a member is served (log index and key) does not ride along into a release.
    expect(resources.filter((r) => r.meta?.extension !== undefined)).toEqual([]);
    const ids = new Set(patients.map((p) => `Patient/${p.id}`));
    for (const r of resources.filter((x) => x.resourceType !== 'Patient'))
      expect(ids.has(r.subject.reference)).toBe(true);
    // The hash of this manifest is what was anchored.
    expect([...anchors.values()].map((a) => a.records)).toEqual([manifest.extension.counts.records]);
    expect([...anchors.values()][0]?.contributors).toHaveLength(5);
  });

  it('gives each contributing patient an AuditEvent (HRESCH, the study) in their own history, and none to the suppressed', async () => {
    const events = async (person: Person) => {
      const response = await request(`/fhir/AuditEvent?patient=Patient/${person.localId}&_count=200`, {
        headers: { 'x-careledger-identity': `Patient/${person.localId}` },
      });
      expect(response.status).toBe(200);
      const bundle = (await response.json()) as { entry?: { resource: Json }[] };
      return (bundle.entry ?? [])
        .map((e) => e.resource)
        .filter((e) => e.purposeOfEvent?.[0]?.coding?.[0]?.code === 'HRESCH')
        .filter((e) =>
          e.entity?.some((x: Json) =>
            String(x.what?.reference).startsWith(`ResearchStudy/${STUDY_ID.slice(2)}/$export/`),
          ),
        );
    };
    for (const person of [...people.slice(0, 4), people[5] as Person])
      expect(await events(person)).toHaveLength(1);
    expect(await events(people[4] as Person)).toHaveLength(0);
  });

  it('verifies against the anchor, and names a tampered file (exit 65)', async () => {
    const manifestPath = join(first.dir, 'manifest.json');
    const verified = await runResearchVerify({ nodeUrl: base, ...researcher, manifestPath, dir: first.dir });
    expect(verified.files).toHaveLength(first.manifest.output.length);
    const target = first.manifest.output.find((f) => f.type === 'Observation') as { url: string };
    const name = new URL(target.url).pathname.split('/').at(-1) as string;
    const path = join(first.dir, name);
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, original.replace('"final"', '"amended"'));
    const error = await runResearchVerify({
      nodeUrl: base,
      ...researcher,
      manifestPath,
      dir: first.dir,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_PRECONDITION_FAILED', details: { file: name } });
    expect(exitCodeFor(error)).toBe(65);
    writeFileSync(path, original);
    // An altered manifest (one suppression hidden) is not the anchored one.
    const altered = structuredClone(first.manifest) as Json;
    altered.extension.counts.suppressedPatients = 0;
    writeFileSync(manifestPath, JSON.stringify(altered));
    await expect(
      runResearchVerify({ nodeUrl: base, ...researcher, manifestPath, dir: first.dir }),
    ).rejects.toMatchObject({
      details: { reason: 'not-anchored' },
    });
  });

  it('leaves a patient who revoked out of the next release', async () => {
    const revoked = people[1] as Person;
    await relay('/ledger/consent/revocations', await revoked.grant.revoke());
    revoked.revoked = true;
    await solo.node.indexer.sync();
    const dir = join(solo.dir, 'release-2');
    const manifest = await runResearchExport({
      nodeUrl: base,
      ...researcher,
      studyId: STUDY_ID,
      outDir: dir,
      sleep: settle,
    });
    const patients = readNdjson(dir, manifest).filter((r) => r.resourceType === 'Patient');
    const key = deriveStudyKey(
      new Uint8Array(
        Buffer.from(readFileSync(join(solo.dir, 'solo', 'research-pseudonym.secret'), 'utf8').trim(), 'hex'),
      ),
      STUDY_ID,
    );
    const pseudonymOf = (p: Person) => createResourcePseudonym(key, p.localId);
    expect(readNdjson(first.dir, first.manifest).map((r) => r.id)).toContain(pseudonymOf(revoked));
    expect(patients.map((p) => p.id).sort()).toEqual(
      [people[0], people[2], people[3], people[5]].map((p) => pseudonymOf(p as Person)).sort(),
    );
    expect(manifest.extension.counts).toMatchObject({ contributors: 4, suppressedPatients: 1 });
  });

  it('refuses with the reason: not open, closed, outside its period, not the researcher, profile mismatch', async () => {
    const kickOff = async (id: Hex, who: Address = RESEARCHER.address) => {
      const response = await request(`/research/studies/${id}/$export`, {
        method: 'POST',
        headers: {
          'x-careledger-identity': `Organization/${who}`,
          'x-careledger-purpose': 'HRESCH',
          prefer: 'respond-async',
        },
      });
      const body = (await response.json()) as { issue: { diagnostics: string }[] };
      return { status: response.status, diagnostics: body.issue[0]?.diagnostics ?? '' };
    };
    const cases: [Partial<Study>, number, RegExp][] = [
      [{ status: 'approved' }, 412, /approved, not open/],
      [{ status: 'closed' }, 412, /closed/],
      [{ notBefore: NOW + 3600, notAfter: NOW + 7200 }, 412, /outside the study's period/],
      [{ profileHash: `0x${'01'.repeat(32)}` }, 412, /profile/],
    ];
    for (const [index, [overrides, status, reason]] of cases.entries()) {
      const id = keccak256(toBytes(`careledger-test:refused-${index}`));
      studies.set(id, study({ ...overrides, id }));
      expect(await kickOff(id)).toMatchObject({ status, diagnostics: expect.stringMatching(reason) });
    }
    expect(await kickOff(STUDY_ID, SOMEONE_ELSE.address)).toMatchObject({
      status: 403,
      diagnostics: expect.stringContaining("not the study's researcher"),
    });
    expect((await kickOff(keccak256(toBytes('no such study')))).status).toBe(404);
  });

  it('lets a linkage attack with the original demographics find nobody, in files, logs or errors, and no class below k', async () => {
    const outputs = [first, { dir: join(solo.dir, 'release-2'), manifest: undefined }];
    const released: string[] = strings(readNdjson(first.dir, first.manifest));
    const second = JSON.parse(
      readFileSync(join(outputs[1]?.dir as string, 'manifest.json'), 'utf8'),
    ) as ReleaseManifest;
    released.push(
      ...strings(readNdjson(outputs[1]?.dir as string, second)),
      ...strings(first.manifest),
      ...strings(second),
    );
    const logged = logLines.flatMap((l) => l.split(/[\s:;,()]+/));
    for (const person of people) {
      for (const secret of demographicsOf(person)) {
        expect(linked(released, secret), `a release links ${person.localId} by one of its identifiers`).toBe(
          false,
        );
        expect(
          linked(
            [...logged, logLines.join('\n')].filter((s) => /[g-z ]/i.test(secret) || s === secret),
            secret,
          ),
        ).toBe(false);
      }
    }
    for (const manifest of [first.manifest, second]) {
      const dir = manifest === second ? (outputs[1]?.dir as string) : first.dir;
      const classes = new Map<string, number>();
      for (const p of readNdjson(dir, manifest).filter((r) => r.resourceType === 'Patient')) {
        const key = `${p.birthDate ?? '90+'}|${p.gender}|${p.address?.[0]?.postalCode}`;
        classes.set(key, (classes.get(key) ?? 0) + 1);
      }
      for (const size of classes.values()) expect(size).toBeGreaterThanOrEqual(K);
    }
  });
});
