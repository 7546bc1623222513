/**
 * Issue 17 item 5: the consortium on hosts of its own. Each host is a Linux network namespace with
 * its own address on a private /24 (test/support/netns-network.ts): anvil on the chain host, the
 * hospital, the lab and the pharmacy each on theirs, the pharmacy as two worker processes and its
 * sequencing primary (`node start --workers 2`). Members serve HTTPS on their own address only, with
 * certificates from a throw-away CA that every member trusts (NODE_EXTRA_CA_CERTS).
 *
 * A patient's grant and a cross-member read go over the network; then the pharmacy's link goes down
 * while its own workstation keeps writing to it and a grant is relayed elsewhere, and comes back:
 * every acknowledged write has an inclusion proof, its log after is consistent with its log before,
 * no size was signed twice, it catches up with the chain, and its outbox drains (its anchors are
 * on the chain). Needs root (namespaces): without it the test fails with one line, it does not skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http as viemHttp } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointAnchorAbi, loadDeployment } from '../../src/ledger/index.js';
import { decodeBase64 } from '../../src/log/base64.js';
import {
  parseCheckpoint,
  parseVerifierKey,
  verifyConsistencyProof,
  verifyNote,
} from '../../src/log/index.js';
import { nodePaths } from '../../src/node/node-config.js';
import { deriveWitnessVerifierKey } from '../../src/node/witness-keys.js';
import { findCheckpointProblems, loadLogHistory } from '../crash/log-history.js';
import {
  type ChainHost,
  type Clinician,
  initConsortium,
  type MemberFolder,
  type RunningMember,
  runInHost,
  signInClinician,
  startChainHost,
  startMember,
  waitFor,
} from '../support/netns-consortium.js';
import { createMemberApi, type MemberApi } from '../support/netns-member-api.js';
import { createVirtualLan, type VirtualLan } from '../support/netns-network.js';
import { createCaFetch, createTestCa, type TestCa } from '../support/netns-tls.js';

const WRITER = join(import.meta.dirname, '..', 'support', 'netns-writer.ts');
const MEMBERS = [
  { name: 'hospital', host: 'hospital', role: 'provider', workers: 1 },
  { name: 'lab', host: 'lab', role: 'lab', workers: 1 },
  { name: 'pharmacy', host: 'pharmacy', role: 'pharmacy', workers: 2 },
] as const;
type MemberName = (typeof MEMBERS)[number]['name'];

const work = mkdtempSync(join(tmpdir(), 'careledger-netns-'));
let lan: VirtualLan | undefined;
let chain: ChainHost | undefined;
let ca: TestCa;
let httpsFetch: typeof fetch;
let api: MemberApi;
const folders = {} as Record<MemberName, MemberFolder>;
const running = {} as Record<MemberName, RunningMember>;
const clinicians = {} as Record<MemberName, Clinician>;

/** The last lines of every node, for failure messages. */
const nodeLines = () =>
  `\n${Object.values(running)
    .map((r) => `-- ${r.folder.name}:\n${r.lines.slice(-12).join('\n')}`)
    .join('\n')}`;

const laboratory = (patient: string) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  subject: { reference: `Patient/${patient}` },
  valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
});

beforeAll(async () => {
  lan = createVirtualLan(['chain', ...MEMBERS.map((m) => m.host)]);
  ca = createTestCa(work);
  httpsFetch = createCaFetch(ca.cert);
  api = createMemberApi(folders, clinicians, httpsFetch);
  chain = await startChainHost(lan, 'chain');
  const made = await initConsortium(lan, work, chain.url, ca, MEMBERS);
  for (const folder of made) folders[folder.name as MemberName] = folder;
  const started = await Promise.all(
    MEMBERS.map((m) => startMember(lan as VirtualLan, folders[m.name], ca, m.workers)),
  );
  for (const member of started) running[member.folder.name as MemberName] = member;
  const signedIn = await Promise.all(MEMBERS.map((m) => signInClinician(folders[m.name], httpsFetch)));
  MEMBERS.forEach((m, i) => {
    clinicians[m.name] = signedIn[i] as Clinician;
  });
}, 400_000);

afterAll(async () => {
  if (process.env.CARELEDGER_TEST_LOG)
    writeFileSync(
      process.env.CARELEDGER_TEST_LOG,
      Object.values(running)
        .map((r) => `-- ${r.folder.name}\n${r.lines.join('\n')}`)
        .join('\n'),
    );
  await lan?.close();
  chain?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a consortium on separate hosts (network namespaces), TLS between members', () => {
  it('each member listens on its own host’s address only, over HTTPS that a client without the CA refuses', async () => {
    const listeningIn = (host: string) =>
      execFileSync('ip', ['netns', 'exec', lan?.hosts[host]?.namespace as string, 'ss', '-Htln'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => line.trim().split(/\s+/)[3] as string);
    const wildcard = (local: string) => /^(0\.0\.0\.0|\*|\[::\]):/.test(local);
    for (const { name, host } of MEMBERS) {
      const address = lan?.hosts[host]?.address as string;
      const listening = listeningIn(host);
      expect(listening, name).toContain(`${address}:8443`);
      expect(listening.filter(wildcard), name).toEqual([]);
      expect(folders[name].url).toBe(`https://${address}:8443`);
    }
    expect(listeningIn('chain')).toEqual([`${lan?.hosts.chain?.address}:8545`]);
    // The test process's own fetch knows no such CA: the certificate is refused, nothing is sent.
    const untrusted = await fetch(`${folders.lab.url}/health`).then(
      () => 'answered',
      (error: Error) => String((error.cause as { code?: string } | undefined)?.code),
    );
    expect(untrusted).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    expect((await api.call('lab', '/health')).status).toBe(200);
  });

  it('relays a patient’s grant at the hospital and reads the lab’s records across hosts over HTTPS', async () => {
    const patientKey = generatePrivateKey();
    const patientAddress = privateKeyToAccount(patientKey).address;
    const hospitalPatient = await api.registerPatient('hospital', 'Netns', patientKey);
    const labPatient = await api.registerPatient('lab', 'Netns', patientKey);
    const observation = await api.createResource('lab', laboratory(labPatient));
    await waitFor(
      'the hospital learned from the chain that the lab holds the patient’s records',
      async () => {
        const found = await api.call('hospital', `/ledger/locations/${patientAddress}`);
        return ((found.json.members ?? []) as { address: string }[]).some(
          (m) => m.address === folders.lab.member.account,
        );
      },
      60,
      nodeLines,
    );
    await api.relayGrant('hospital', patientKey, 'hospital', ['demographics', 'laboratory']);
    await waitFor(
      'the lab indexed the grant and holds its terms',
      async () =>
        (
          await api.call(
            'lab',
            `/ledger/consent/check?patient=${patientAddress}&grantee=${folders.hospital.member.account}&category=laboratory&purpose=TREAT`,
          )
        ).json.allowed === true,
      60,
      nodeLines,
    );
    let report = '';
    await waitFor(
      'the hospital fetched the lab’s records over HTTPS',
      async () => {
        const answer = await api.call(
          'hospital',
          `/fhir/Patient/${hospitalPatient}/$fetch-from-members?purpose=TREAT`,
          {
            method: 'POST',
          },
        );
        report = answer.text;
        return ((answer.json.members ?? []) as { member: string; status: string; kept: number }[]).some(
          (m) => m.member === folders.lab.member.account && m.status === 'ok' && m.kept > 0,
        );
      },
      60,
      () => `: ${report}${nodeLines()}`,
    );
    const kept = await api.call('hospital', `/fhir/Observation/${observation}`);
    expect(kept.status, kept.text).toBe(200);
  }, 240_000);

  it('the pharmacy cut off and back: acknowledged writes proven, log consistent, chain caught up, outbox drained', async () => {
    const pharmacyPatient = await api.createResource('pharmacy', {
      resourceType: 'Patient',
      name: [{ family: 'Dispensed', given: ['Pat'] }],
      birthDate: '1980-02-02',
    });
    await waitFor(
      'the pharmacy signed a checkpoint',
      async () => (await api.checkpointOf('pharmacy')).size > 0,
      30,
    );
    const before = await api.checkpointOf('pharmacy');

    lan?.cut('pharmacy');
    const unreachable = await httpsFetch(`${folders.pharmacy.url}/health`, {
      signal: AbortSignal.timeout(3_000),
    }).then(
      () => false,
      () => true,
    );
    expect(unreachable, 'the pharmacy still answers from outside its host').toBe(true);

    // Meanwhile, elsewhere: a patient grants the pharmacy access, relayed at the hospital. And at the
    // pharmacy's desk another patient asks the pharmacy to relay a grant to the lab.
    const absentPatientKey = generatePrivateKey();
    const absentPatient = privateKeyToAccount(absentPatientKey).address;
    const deskGrant = await api.signGrant('pharmacy', generatePrivateKey(), 'lab', ['medications']);
    const [writer] = await Promise.all([
      runInHost(lan as VirtualLan, 'pharmacy', WRITER, {
        NODE_EXTRA_CA_CERTS: ca.certFile,
        NETNS_WRITER_FHIR: `${folders.pharmacy.url}/fhir`,
        NETNS_WRITER_TOKEN: clinicians.pharmacy.token,
        NETNS_WRITER_PATIENT: pharmacyPatient,
        NETNS_WRITER_COUNT: '12',
        NETNS_WRITER_GRANT: deskGrant.body,
      }),
      api.relayGrant('hospital', absentPatientKey, 'pharmacy', ['medications']),
    ]);
    const printed = writer.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(
        (line) =>
          JSON.parse(line) as {
            id?: string;
            relay?: { http: number; retryAfter: string | null; body: Record<string, unknown> };
          },
      );
    const acknowledged = printed.flatMap((p) => (p.id === undefined ? [] : [p.id]));
    expect(acknowledged.length, writer.stderr).toBe(12);
    // The outbox signs and keeps only what the chain accepted in simulation: cut off from the chain,
    // the relay is refused and retryable, so nothing is acknowledged that could be lost.
    const relay = printed.find((p) => p.relay !== undefined)?.relay;
    expect(relay, JSON.stringify(relay)).toMatchObject({
      http: 503,
      body: { issue: [{ details: { text: 'ERR_CHAIN_UNAVAILABLE' } }] },
    });
    expect(relay?.retryAfter).toMatch(/^\d+$/);

    lan?.reconnect('pharmacy');
    await waitFor(
      'the pharmacy answers again',
      async () => (await api.call('pharmacy', '/health', { timeoutMs: 3_000 })).status === 200,
      30,
    );
    for (const id of acknowledged) await api.verifyLogged('pharmacy', 'MedicationDispense', id);
    const after = await api.checkpointOf('pharmacy');
    expect(after.size).toBeGreaterThanOrEqual(before.size + acknowledged.length);
    const consistency = await api.call('pharmacy', `/log/consistency?old=${before.size}&new=${after.size}`);
    expect(consistency.status, consistency.text).toBe(200);
    verifyConsistencyProof(
      before.size,
      after.size,
      consistency.text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => decodeBase64(line) ?? new Uint8Array()),
      before.rootHash,
      after.rootHash,
    );
    // The other members' witnesses cosign a checkpoint only with a consistency proof from the last one
    // they cosigned, from before the cut: hosts other than the pharmacy's checked it did not fork.
    const logVerifier = parseVerifierKey(folders.pharmacy.member.logVerifierKey);
    const witnesses = (['hospital', 'lab'] as const).map((m) =>
      parseVerifierKey(
        deriveWitnessVerifierKey(folders[m].member.logVerifierKey, folders[m].config.logOrigin),
      ),
    );
    await waitFor(
      'a witness on another host cosigned a pharmacy checkpoint covering the writes made while cut off',
      async () => {
        const note = (await api.call('pharmacy', '/log/checkpoint')).text;
        const verified = verifyNote(note, [logVerifier, ...witnesses], { minimum: 1 });
        return (
          parseCheckpoint(verified.text).size >= after.size &&
          verified.verified.some((v) => v.timestamp !== undefined)
        );
      },
      60,
      nodeLines,
    );
    // Fenced: one sequencer signed every checkpoint, never two for one size, each recomputable.
    const history = loadLogHistory(nodePaths(folders.pharmacy.dir).database);
    expect(history.conflictingSizes).toEqual([]);
    expect(
      findCheckpointProblems(
        history,
        folders.pharmacy.config.logOrigin,
        folders.pharmacy.member.logVerifierKey,
      ),
    ).toEqual([]);

    await waitFor(
      'the pharmacy indexed the grant relayed while it was away',
      async () =>
        (
          (await api.call('pharmacy', `/ledger/consent/grants?patient=${absentPatient}`)).json
            .grants as unknown[]
        ).length > 0,
      60,
      nodeLines,
    );
    const deployment = loadDeployment(folders.pharmacy.config.deploymentFile);
    const client = createPublicClient({ transport: viemHttp(chain?.url as string, { retryCount: 0 }) });
    await waitFor(
      'the chain holds a pharmacy anchor covering the writes made while it was cut off',
      async () => {
        const latest = await client.readContract({
          address: deployment.contracts.checkpointAnchor,
          abi: checkpointAnchorAbi,
          functionName: 'latest',
          args: [folders.pharmacy.config.logOrigin],
        });
        const [treeSize] = latest;
        return Number(treeSize) >= after.size;
      },
      60,
      nodeLines,
    );
    await waitFor(
      'the pharmacy’s outbox drained',
      async () => {
        const status = await api.call('pharmacy', '/status');
        return (status.json.outbox as { sent: number }).sent === 0;
      },
      60,
      nodeLines,
    );
    // The witnesses found no fork: the pharmacy's own log services never fenced its log.
    const status = (await api.call('pharmacy', '/status')).json.log as {
      fence: string | null;
      cosignedSize: number;
    };
    expect(status.fence).toBeNull();
    expect(status.cosignedSize).toBeGreaterThanOrEqual(after.size);
  }, 300_000);
});
