/**
 * Records between members: the demo consortium (three node processes, the embedded chain) with the
 * demo patient's records seeded over the hospital, the lab and the pharmacy. Measures the hospital's
 * pull from the other two (Backend Services token, $everything, one tlog-proof fetch and verification
 * per version, anchor consistency) and the patient's merged view (records and AuditEvents from all
 * three, each verified), in versions verified per second, beside this machine's Ed25519 verify and
 * SHA-256 rates measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToBytes } from 'viem';
import { loadDemoUsers } from '../../src/cli/commands/demo-users.js';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { openPatientKeystore } from '../../src/identity/index.js';
import { createPatientAssertion } from '../../src/identity/patient-assertion.js';
import { loadDeployment } from '../../src/ledger/index.js';
import { signGrantForNewPatient } from '../../test/support/consent-signer.js';
import { findFreePorts } from '../../test/support/free-port.js';
import { costRatio, percentile } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const CLINICIAN = { 'x-careledger-identity': 'Practitioner/dr-grey', 'x-careledger-roles': 'clinician' };

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, init);
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function waitFor(what: string, predicate: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within ${seconds} s`);
}

export const exchangeGroup: Group = {
  name: 'exchange',
  description: 'records between members: verified pull and the patient view across members',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const rounds = ctx.options.quick ? 2 : 6;
    const dataDir = mkdtempSync(join(tmpdir(), 'careledger-bench-exchange-'));
    const [chainPort, ...nodePorts] = await findFreePorts(4);
    const dev = new DevConsortium({
      dataDir,
      chainPort: chainPort as number,
      nodePorts,
      log: () => undefined,
      seedDemoRecords: true,
    });
    const release = ctx.onInterrupt(() => dev.stop());
    try {
      ctx.progress('exchange: starting the demo consortium with the demo records');
      await dev.start();
      const url = (name: string) => dev.nodes.find((n) => n.name === name)?.url as string;
      const hospital = url('hospital');
      const records = dev.demoRecords;
      const users = loadDemoUsers(dataDir);
      if (records === undefined) throw new Error('the demo records were not seeded');
      const patientId = records.patientIds.hospital;
      const { members } = await json<{ members: { address: string; name: string; logOrigin: string }[] }>(
        `${hospital}/ledger/members`,
      );
      // DevConsortium.start has waited for every member's first anchor (records verify only after it).
      // The patient's grant to the hospital, signed with her key (kept at the node, encrypted).
      const patient = users.accounts.find((a) => a.username === 'maria.rivera');
      const asPatient = { 'x-careledger-identity': patient?.fhirUser ?? '' };
      const keystore = await json<unknown>(`${hospital}/patient/keystore`, { headers: asPatient }).catch(
        () => undefined,
      );
      const key =
        keystore === undefined
          ? undefined
          : await openPatientKeystore(keystore, users.patientKeystorePassphrase);
      if (key === undefined)
        throw new Error('the demo patient keystore is not readable with the dev identity');
      const hospitalAddress = members.find((m) => m.name.includes('Hospital'))?.address as string;
      const deployment = loadDeployment(join(dataDir, 'chain', 'deployment.json'));
      const grant = await signGrantForNewPatient({
        chainId: deployment.chainId,
        consentRegistry: deployment.contracts.consentRegistry,
        grantee: hospitalAddress as `0x${string}`,
        categories: ['demographics', 'laboratory', 'medications'],
        purposes: ['TREAT'],
        nowSeconds: Math.floor(Date.now() / 1000),
        patientKey: key,
      });
      await json(`${hospital}/ledger/consent/grants?wait=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: grant.body,
      });
      for (const name of ['lab', 'pharmacy']) {
        await waitFor(
          `${name} indexed the grant`,
          async () =>
            (
              await json<{ allowed: boolean }>(
                `${url(name)}/ledger/consent/check?patient=${grant.patient}&grantee=${hospitalAddress}&category=demographics&purpose=TREAT`,
              )
            ).allowed,
          30,
        );
      }

      ctx.progress(`exchange: ${rounds} pulls of the demo patient's records from the lab and the pharmacy`);
      const pullSeconds: number[] = [];
      let versions = 0;
      let kept = 0;
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        const report = await json<{ members: { status: string; received: number; kept: number }[] }>(
          `${hospital}/fhir/Patient/${patientId}/$fetch-from-members?purpose=TREAT`,
          { method: 'POST', headers: CLINICIAN },
        );
        pullSeconds.push((performance.now() - t0) / 1000);
        if (report.members.some((m) => m.status !== 'ok')) throw new Error(`pull: ${JSON.stringify(report)}`);
        versions = report.members.reduce((n, m) => n + m.received, 0);
        kept += report.members.reduce((n, m) => n + m.kept, 0);
      }

      ctx.progress(`exchange: ${rounds} patient views across the three members`);
      const viewSeconds: number[] = [];
      let viewItems = 0;
      for (let i = 0; i < rounds; i++) {
        const audiences = await json<{ members: { address: string; audience: string }[] }>(
          `${hospital}/patient/everywhere`,
          { headers: asPatient },
        );
        const t0 = performance.now();
        const assertions = await Promise.all(
          audiences.members.map(async (m) => ({
            member: m.address,
            assertion: await createPatientAssertion(hexToBytes(key), {
              audience: m.audience,
              nowSeconds: Math.floor(Date.now() / 1000),
              jti: crypto.randomUUID(),
            }),
          })),
        );
        const view = await json<{ records: unknown[]; accessHistory: unknown[] }>(
          `${hospital}/patient/everywhere`,
          {
            method: 'POST',
            headers: { ...asPatient, 'content-type': 'application/json' },
            body: JSON.stringify({ assertions }),
          },
        );
        viewSeconds.push((performance.now() - t0) / 1000);
        viewItems = view.records.length + view.accessHistory.length;
      }
      const ed25519 = await ctx.limit('limits.ed25519.verify');
      const sha = await ctx.limit('limits.sha256.1k');
      const pull50 = percentile(pullSeconds, 50);
      const view50 = percentile(viewSeconds, 50);
      const figures: Figure[] = [
        {
          group: 'exchange',
          id: 'exchange.pull',
          label: `pull from 2 members (${versions} versions, each proven)`,
          value: pull50 * 1000,
          unit: 'ms',
          p99: percentile(pullSeconds, 99) * 1000,
          extra: { versionsPerSecond: Math.round(versions / pull50), rounds, keptFirstRound: kept },
          ratios: [
            costRatio(pull50 / versions, ed25519, 'Ed25519 verify time per version'),
            costRatio(pull50 / versions, sha, 'SHA-256(1 KiB) time per version'),
          ],
          note: 'first round stores the copies; later rounds verify and find them held',
        },
        {
          group: 'exchange',
          id: 'exchange.view',
          label: `patient view across 3 members (${viewItems} records and AuditEvents, each proven)`,
          value: view50 * 1000,
          unit: 'ms',
          p99: percentile(viewSeconds, 99) * 1000,
          extra: { itemsPerSecond: Math.round(viewItems / view50), rounds },
          ratios: [costRatio(view50 / Math.max(1, viewItems), ed25519, 'Ed25519 verify time per item')],
          note: 'the access history grows by one entry per read, so later rounds check more',
        },
      ];
      return {
        figures,
        charts: [],
        notes: [
          'Each version costs one tlog-proof request to its member and one checkpoint signature check; consistency with the anchor is proven once per checkpoint size.',
        ],
      };
    } finally {
      await dev.stop();
      release();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
