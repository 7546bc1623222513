/**
 * Two patients of the hospital who joined the demo's open study and stay in it (issue 18), so a demo
 * release has a cohort: each has a Patient, a type 2 diabetes Condition and an HbA1c result at the
 * hospital, enrols a ledger key at the desk and signs an HRESCH grant to the study's address, which
 * the hospital relays, as `careledger research join` does. They share a birth year, sex and ZIP3, so
 * their class holds the study's k of 2 and their records are released (de-identified). The demo
 * patient, Maria, is left out: she joins and leaves from the portal.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { enrolLedgerKeyOverHttp } from '../../enrolment/index.js';
import { createPatientKey } from '../../identity/index.js';
import {
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  encodeCategories,
  encodePurposes,
  loadDeployment,
} from '../../ledger/index.js';
import { studyGrantee } from '../../research/study.js';
import { deploymentFile } from '../data-dir.js';
import { requestJson } from '../http-json.js';

const VOLUNTEERS = [
  { family: 'Okafor', given: 'Grace', birthDate: '1961-03-08', postalCode: '02139', hba1c: 7.4 },
  { family: 'Lindqvist', given: 'Helen', birthDate: '1961-11-21', postalCode: '02141', hba1c: 6.9 },
] as const;

const STAFF = {
  'x-careledger-identity': 'Practitioner/registrar',
  'x-careledger-roles': 'registrar,clinician',
  'content-type': 'application/fhir+json',
};

/** A volunteer's records at the hospital, in one transaction. */
function volunteerBundle(v: (typeof VOLUNTEERS)[number]): Bundle {
  const patient = `urn:uuid:${randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: patient,
        request: { method: 'POST', url: 'Patient' },
        resource: {
          resourceType: 'Patient',
          name: [{ family: v.family, given: [v.given] }],
          gender: 'female',
          birthDate: v.birthDate,
          address: [{ city: 'Cambridge', state: 'MA', postalCode: v.postalCode }],
        },
      },
      {
        request: { method: 'POST', url: 'Condition' },
        resource: {
          resourceType: 'Condition',
          subject: { reference: patient },
          clinicalStatus: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
          },
          code: {
            coding: [
              { system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' },
            ],
          },
          onsetDateTime: '2019-05-14',
        },
      },
      {
        request: { method: 'POST', url: 'Observation' },
        resource: {
          resourceType: 'Observation',
          status: 'final',
          category: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/observation-category',
                  code: 'laboratory',
                },
              ],
            },
          ],
          code: {
            coding: [
              {
                system: 'http://loinc.org',
                code: '4548-4',
                display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
              },
            ],
          },
          subject: { reference: patient },
          effectiveDateTime: '2026-10-02',
          valueQuantity: { value: v.hba1c, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
        },
      },
    ],
  };
}

export interface ResearchVolunteersInput {
  readonly dataDir: string;
  readonly hospitalUrl: string;
  readonly study: { readonly id: Hex; readonly categories: readonly string[]; readonly notAfter: number };
}

/** Seeds the volunteers; their ledger addresses. */
export async function seedResearchVolunteers(input: ResearchVolunteersInput): Promise<Address[]> {
  const deployment = loadDeployment(deploymentFile(input.dataDir));
  const domain = createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry);
  return Promise.all(
    VOLUNTEERS.map(async (volunteer) => {
      const stored = await requestJson<Bundle>(`${input.hospitalUrl}/fhir`, {
        body: volunteerBundle(volunteer),
        headers: STAFF,
        timeoutMs: 120_000,
      });
      const patientId = /Patient\/([^/]+)/.exec(stored.entry?.[0]?.response?.location ?? '')?.[1];
      if (patientId === undefined) throw new Error('the hospital stored no Patient for a volunteer');
      const key = createPatientKey();
      const account = privateKeyToAccount(key.privateKey);
      await enrolLedgerKeyOverHttp({
        fhirBaseUrl: `${input.hospitalUrl}/fhir`,
        patientId,
        account,
        headers: { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' },
      });
      const now = BigInt(Math.floor(Date.now() / 1000));
      const grant = {
        patient: account.address,
        grantee: studyGrantee(input.study.id),
        categories: encodeCategories(input.study.categories),
        purposes: encodePurposes(['HRESCH']),
        salt: createGrantSalt(),
        notBefore: now - 60n,
        notAfter: BigInt(input.study.notAfter),
        // A new key: its first consent.
        nonce: 0n,
      };
      const signature = await account.signTypedData(createGrantTypedData(domain, grant));
      await requestJson(`${input.hospitalUrl}/ledger/consent/grants?wait=true`, {
        body: {
          grant: Object.fromEntries(
            Object.entries(grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
          ),
          signature,
        },
        timeoutMs: 120_000,
      });
      return account.address;
    }),
  );
}
