/**
 * The demo's partners, seeded once beside the story's records: the insurer publishes its benefit
 * policy on the ledger and holds Maria's Coverage (claims, decision 0019). Nothing here reaches the
 * chain but the policy's hash and version.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Coverage, Patient } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { withLedgerAddress } from '../../access/index.js';
import { enrolLedgerKeyOverHttp } from '../../enrolment/index.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { requestJson } from '../http-json.js';

/** The insurer's benefit policy, as published (format: docs/decisions/0019-claims-adjudication.md §1). */
export const DEMO_POLICY_FILE = fileURLToPath(
  new URL('../../../demo/claims/evergreen-2026.json', import.meta.url),
);

export interface DemoPartnersResult {
  readonly insurer: {
    readonly patientId: string;
    readonly coverageId: string;
    readonly policyVersion: string;
  };
}

interface PartnerNodes {
  readonly hospital: string;
  readonly insurer: { readonly url: string; readonly adminToken: string };
}

const REGISTRAR = {
  'x-careledger-identity': 'Practitioner/registrar',
  'x-careledger-roles': 'registrar,clinician',
  'content-type': 'application/fhir+json',
};

/**
 * Seeds the insurer, once (a marker file in the data folder): Maria registered as a member of the
 * Evergreen Health Plan with her ledger key proven, her Coverage for 2026, and the plan's benefit
 * policy published on the ledger. Her consent for payment (HPAYMT) stays hers to give.
 */
export async function seedDemoPartners(
  dataDir: string,
  nodes: PartnerNodes,
  demoPatient: string,
  patientKey: LocalAccount | undefined,
  log: (line: string) => void,
): Promise<DemoPartnersResult> {
  const marker = join(dataDir, 'demo-partners.json');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as DemoPartnersResult;
  const policy = JSON.parse(readFileSync(DEMO_POLICY_FILE, 'utf8')) as { version: string; effective: Period };
  const [patientId] = await Promise.all([
    registerMember(nodes, demoPatient, patientKey),
    publishPolicy(nodes.insurer, policy),
  ]);
  const coverage: Coverage = {
    resourceType: 'Coverage',
    status: 'active',
    type: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
          code: 'HIP',
          display: 'health insurance plan policy',
        },
      ],
    },
    subscriberId: 'EVG-0001-4417',
    beneficiary: { reference: `Patient/${patientId}` },
    relationship: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
    },
    period: { start: policy.effective.start, end: policy.effective.end },
    payor: [{ display: 'Evergreen Health Plan' }],
    class: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] },
        value: policy.version,
        name: 'Evergreen Silver 2026',
      },
    ],
  };
  const created = await requestJson<Coverage>(`${nodes.insurer.url}/fhir/Coverage`, {
    body: coverage,
    headers: REGISTRAR,
  });
  const result: DemoPartnersResult = {
    insurer: { patientId, coverageId: created.id as string, policyVersion: policy.version },
  };
  log(`[insurer] published benefit policy ${policy.version} and holds the demo patient's Coverage`);
  writeFileDurably(marker, `${JSON.stringify(result, null, 2)}\n`, 0o600);
  return result;
}

interface Period {
  readonly start: string;
  readonly end: string;
}

/** Maria at the insurer: her demographics from the hospital, her key linked only with her proof. */
async function registerMember(
  nodes: PartnerNodes,
  demoPatient: string,
  patientKey: LocalAccount | undefined,
): Promise<string> {
  const atHospital = await requestJson<Patient>(`${nodes.hospital}/fhir/${demoPatient}`, {
    headers: REGISTRAR,
  });
  const { id: _id, meta: _meta, ...demographics } = withLedgerAddress(atHospital, undefined);
  const created = await requestJson<Patient>(`${nodes.insurer.url}/fhir/Patient`, {
    body: demographics,
    headers: REGISTRAR,
  });
  const patientId = created.id as string;
  if (patientKey !== undefined) {
    await enrolLedgerKeyOverHttp({
      fhirBaseUrl: `${nodes.insurer.url}/fhir`,
      patientId,
      account: patientKey,
      headers: { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' },
    });
  }
  return patientId;
}

async function publishPolicy(insurer: PartnerNodes['insurer'], policy: { version: string }): Promise<void> {
  const { policies } = await requestJson<{ policies: { version: string }[] }>(
    `${insurer.url}/claims/policies`,
  );
  if (policies.some((p) => p.version === policy.version)) return;
  await requestJson(`${insurer.url}/admin/claims/policies`, {
    body: policy,
    token: insurer.adminToken,
    timeoutMs: 60_000,
  });
}
