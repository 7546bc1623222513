import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Bundle, BundleEntry, Patient, Resource } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { LEDGER_ADDRESS_SYSTEM, withLedgerAddress } from '../../access/index.js';
import { enrolLedgerKeyOverHttp } from '../../enrolment/index.js';
import { isSearchableResourceType } from '../../fhir/search/index.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { requestJson } from '../http-json.js';

/** Synthetic Synthea R4 bundles shipped with the demo (see demo/synthea/SOURCE.md). */
export const DEMO_SYNTHEA_DIR = fileURLToPath(new URL('../../../demo/synthea/', import.meta.url));

/** Which member keeps which of a patient's records in the demo (the rest stays at the hospital). */
export type DemoHolder = 'hospital' | 'lab' | 'pharmacy';

/** Claims and benefit statements belong to an insurer, not yet in the demo consortium. */
const LEFT_OUT = new Set(['Claim', 'ExplanationOfBenefit']);

/** Types the nodes serve (a transaction with any other type is refused whole), minus the insurer's. */
function isKept(resource: Resource): boolean {
  return isSearchableResourceType(resource.resourceType) && !LEFT_OUT.has(resource.resourceType);
}

export function holderOf(resource: Resource): DemoHolder {
  if (resource.resourceType === 'DiagnosticReport') return 'lab';
  if (resource.resourceType === 'Observation') {
    const laboratory = resource.category?.some((c) => c.coding?.some((x) => x.code === 'laboratory'));
    return laboratory === true ? 'lab' : 'hospital';
  }
  if (resource.resourceType === 'MedicationRequest' || resource.resourceType === 'Medication')
    return 'pharmacy';
  return 'hospital';
}

/**
 * Replaces references a sub-bundle cannot resolve (an `urn:uuid:` of an entry kept by another member)
 * with a display-only reference: each member stores only its own part of the patient's story.
 */
function dropForeignReferences(
  value: unknown,
  present: ReadonlySet<string>,
  replace: ReadonlyMap<string, string>,
): unknown {
  if (Array.isArray(value)) return value.map((v) => dropForeignReferences(v, present, replace));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const reference = object.reference;
  if (typeof reference === 'string' && reference.startsWith('urn:uuid:')) {
    const mapped = replace.get(reference);
    if (mapped !== undefined) return { ...object, reference: mapped };
    if (!present.has(reference)) {
      const { reference: _drop, ...rest } = object;
      return {
        ...rest,
        display: typeof object.display === 'string' ? object.display : 'recorded at another member',
      };
    }
  }
  return Object.fromEntries(
    Object.entries(object).map(([k, v]) => [k, dropForeignReferences(v, present, replace)]),
  );
}

/** One member's part of a Synthea transaction bundle, as a transaction bundle of its own. */
export function createMemberBundle(
  source: Bundle,
  holder: DemoHolder,
  patient: { readonly existingId?: string; readonly resource?: Patient },
): Bundle {
  const patientEntry = source.entry?.find((e) => e.resource?.resourceType === 'Patient');
  const patientUrl = patientEntry?.fullUrl ?? '';
  const kept = (source.entry ?? []).filter(
    (e): e is BundleEntry & { resource: Resource } =>
      e.resource !== undefined &&
      e.resource.resourceType !== 'Patient' &&
      isKept(e.resource) &&
      holderOf(e.resource) === holder,
  );
  const replace = new Map<string, string>();
  const entries: BundleEntry[] = [];
  if (patient.existingId !== undefined) replace.set(patientUrl, `Patient/${patient.existingId}`);
  else if (patient.resource !== undefined)
    entries.push({
      fullUrl: patientUrl,
      resource: patient.resource,
      request: { method: 'POST', url: 'Patient' },
    });
  const present = new Set([
    ...kept.map((e) => e.fullUrl ?? ''),
    ...(patient.resource === undefined ? [] : [patientUrl]),
  ]);
  for (const entry of kept) {
    entries.push({
      fullUrl: entry.fullUrl,
      resource: dropForeignReferences(entry.resource, present, replace) as Resource,
      request: { method: 'POST', url: entry.resource.resourceType },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/** The Synthea patient whose story the demo patient is given (a rich mix of labs, visits and drugs). */
const STORY = 'Twanda_Rippin_';

function loadDemoBundles(): Bundle[] {
  if (!existsSync(DEMO_SYNTHEA_DIR)) return [];
  return readdirSync(DEMO_SYNTHEA_DIR)
    .filter((f) => f.endsWith('.json.gz'))
    .sort((a, b) => Number(b.startsWith(STORY)) - Number(a.startsWith(STORY)) || a.localeCompare(b))
    .map((f) => JSON.parse(gunzipSync(readFileSync(join(DEMO_SYNTHEA_DIR, f))).toString('utf8')) as Bundle);
}

export interface DemoRecordsResult {
  /** The demo patient's id at each member. */
  readonly patientIds: Readonly<Record<DemoHolder, string>>;
  readonly counts: Readonly<Record<DemoHolder, number>>;
  readonly otherPatients: number;
}

/**
 * Seeds the demo, once: the demo patient's (Maria Rivera's) clinical story from a Synthea bundle,
 * spread as a real patient's would be: encounters, conditions, procedures, immunizations and vital
 * signs at the hospital, laboratory results at the lab, prescriptions at the pharmacy; each member
 * keeps its own Patient record with her ledger address, so each announces her on the ledger's record
 * locator. Three more Synthea patients are treated at the hospital only. All synthetic.
 */
export async function seedDemoRecords(
  dataDir: string,
  nodes: Readonly<Record<DemoHolder, string>>,
  demoPatient: string,
  log: (line: string) => void,
  /** The demo patient's ledger key: she enrols it at the lab and the pharmacy too (issue 14 item 12). */
  patientKey?: LocalAccount,
): Promise<DemoRecordsResult | undefined> {
  const marker = join(dataDir, 'demo-records.json');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as DemoRecordsResult;
  const [story, ...others] = loadDemoBundles();
  if (story === undefined) return undefined;
  const headers = {
    'x-careledger-identity': 'Practitioner/registrar',
    'x-careledger-roles': 'registrar,clinician',
    'content-type': 'application/fhir+json',
  };
  const hospitalPatient = await requestJson<Patient>(`${nodes.hospital}/fhir/${demoPatient}`, { headers });
  const address = hospitalPatient.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value;
  // Each member links her key to its own Patient record only with her proof of possession.
  const { id: _id, meta: _meta, ...demographics } = withLedgerAddress(hospitalPatient, undefined);
  const counts: Record<DemoHolder, number> = { hospital: 0, lab: 0, pharmacy: 0 };
  const patientIds: Record<DemoHolder, string> = {
    hospital: hospitalPatient.id as string,
    lab: '',
    pharmacy: '',
  };
  for (const holder of ['hospital', 'lab', 'pharmacy'] as const) {
    const bundle = createMemberBundle(
      story,
      holder,
      holder === 'hospital' ? { existingId: patientIds.hospital } : { resource: demographics as Patient },
    );
    const result = await requestJson<Bundle>(`${nodes[holder]}/fhir`, {
      body: bundle,
      headers,
      timeoutMs: 120_000,
    });
    counts[holder] = bundle.entry?.length ?? 0;
    if (holder !== 'hospital') {
      const location = result.entry?.[0]?.response?.location ?? '';
      patientIds[holder] = /Patient\/([^/]+)/.exec(location)?.[1] ?? '';
      if (patientKey !== undefined && patientIds[holder] !== '') {
        await enrolLedgerKeyOverHttp({
          fhirBaseUrl: `${nodes[holder]}/fhir`,
          patientId: patientIds[holder],
          account: patientKey,
          headers: { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' },
        });
      }
    }
    log(
      `[${holder}] stored ${counts[holder]} of the demo patient's records${address === undefined ? '' : ` (ledger address ${address})`}`,
    );
  }
  await seedCareTeamItems(nodes.hospital, patientIds.hospital, headers);
  log('[hospital] stored an active prescription and a message from Dr Meredith Grey for the demo patient');
  for (const other of others) {
    const kept = (other.entry ?? []).filter((e) => e.resource !== undefined && isKept(e.resource));
    const present = new Set(kept.map((e) => e.fullUrl ?? ''));
    const whole: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: kept.map((e) => ({
        ...e,
        resource: dropForeignReferences(e.resource, present, new Map()) as Resource,
      })),
    };
    await requestJson<Bundle>(`${nodes.hospital}/fhir`, { body: whole, headers, timeoutMs: 120_000 });
  }
  log(`[hospital] stored the records of ${others.length} more synthetic patients`);
  const result: DemoRecordsResult = { patientIds, counts, otherPatients: others.length };
  writeFileDurably(marker, `${JSON.stringify(result, null, 2)}\n`, 0o600);
  return result;
}

/**
 * What a patient trying the portal meets at once (issue 22): an active prescription at the hospital
 * to ask a refill of, and a message from her doctor to answer. The story's prescriptions are held by
 * the pharmacy, and messages are otherwise written only when a clinician acts.
 */
async function seedCareTeamItems(
  hospital: string,
  patientId: string,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  const subject = { reference: `Patient/${patientId}` };
  const doctor = { reference: 'Practitioner/dr-grey', display: 'Dr Meredith Grey' };
  const now = new Date();
  const items: Resource[] = [
    {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject,
      requester: doctor,
      authoredOn: now.toISOString().slice(0, 10),
      medicationCodeableConcept: {
        coding: [
          {
            system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
            code: '860975',
            display: '24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet',
          },
        ],
        text: 'Metformin 500 mg extended-release tablet',
      },
      dosageInstruction: [{ text: 'One tablet once a day with the evening meal' }],
      dispenseRequest: { numberOfRepeatsAllowed: 3 },
    },
    {
      resourceType: 'Communication',
      status: 'completed',
      subject,
      sender: doctor,
      recipient: [subject],
      sent: now.toISOString(),
      payload: [
        {
          contentString:
            'Your latest blood sugar results are in your record. Let us talk about them at your next visit.',
        },
      ],
    },
  ];
  for (const resource of items)
    await requestJson(`${hospital}/fhir/${resource.resourceType}`, { body: resource, headers });
}
