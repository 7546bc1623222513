import type { AuditEvent } from '@medplum/fhirtypes';
import { canonicalJson } from '../fhir/canonical-json.js';
import type { Scope } from '../smart/index.js';

/** FHIR RESTful interactions we audit (http://hl7.org/fhir/R4/valueset-type-restful-interaction.html). */
export type FhirInteraction =
  | 'read'
  | 'vread'
  | 'update'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'create'
  | 'search-type'
  | 'transaction'
  | 'batch'
  | 'operation';

/** Who asked, on whose behalf, and why: the access context of one request. */
export interface AccessContext {
  /** FHIR reference of the person, e.g. `Practitioner/123` or `Patient/456`. */
  readonly who: string;
  /** Display name of the requester's organization (never the patient's name). */
  readonly organization?: string;
  /** HL7 v3 PurposeOfUse code (TREAT, ETREAT, ...). */
  readonly purpose: string;
  /** Break-glass: the access used an emergency override (DICOM 110127 / 110128 marking). */
  readonly breakGlass?: boolean;
  /** Network address of the client (IHE BALP agent.network). */
  readonly address?: string;
  /** Staff roles at this node (clinician, registrar, privacy-officer), for a Practitioner. */
  readonly roles?: readonly string[];
  /** For another member's system (`Organization/...`): its ledger address, the grantee of consents. */
  readonly member?: `0x${string}`;
  /** SMART scopes of the access token; undefined for a request not made with a token (development). */
  readonly scopes?: readonly Scope[];
  /** The patient in context of the token (SMART `patient`), which `patient/` scopes are limited to. */
  readonly launchPatient?: string;
  /** The OAuth client the request came through. */
  readonly clientId?: string;
  /** The person a member system acts for (`Practitioner/0x…`, RFC 8693 `act`), audited as an agent. */
  readonly onBehalfOf?: string;
  /** Serve record versions with their version proof (another member always gets them). */
  readonly versionProofs?: boolean;
}

export interface AuditEventInput {
  readonly interaction: FhirInteraction;
  readonly context: AccessContext;
  /** `Type/id` or `Type/id/_history/v` of what was touched, or a search description. */
  readonly entity?: string;
  /** The patient whose data it concerns, `Patient/id`. */
  readonly patient?: string;
  readonly outcome: 'success' | 'denied' | 'failed';
  /** Why it was denied or failed (no PHI). */
  readonly outcomeDescription?: string;
  /** The requester's own words for the purpose (a break-glass reason); sealed with the AuditEvent. */
  readonly purposeText?: string;
  /** DICOM 110128 (Emergency Override Stopped) instead of 110127, for the end or review of one. */
  readonly breakGlassStopped?: boolean;
  /** The observing node: its organization display name and log origin. */
  readonly observer: { readonly display: string; readonly origin: string };
  readonly recorded: string;
}

const ACTION: Record<FhirInteraction, AuditEvent['action']> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  'history-type': 'R',
  update: 'U',
  delete: 'D',
  'search-type': 'E',
  transaction: 'E',
  batch: 'E',
  operation: 'E',
};

/**
 * An AuditEvent in the shape of IHE Basic Audit Log Patterns (BALP): type "rest" with the FHIR
 * interaction as subtype, the requester as agent with its purpose of use, the node as source, the
 * data as entity and the patient as a separate entity (role 1, Patient). Outcome 0 success, 4 minor
 * failure (a denial), 8 serious failure (R4 AuditEvent.outcome).
 */
export function createAuditEvent(input: AuditEventInput): AuditEvent {
  const entity: NonNullable<AuditEvent['entity']> = [];
  if (input.entity !== undefined) {
    entity.push({
      what: { reference: input.entity },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
    });
  }
  if (input.patient !== undefined) {
    entity.push({
      what: { reference: input.patient },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  const purposeOfUse = [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: input.context.purpose }],
      ...(input.purposeText === undefined ? {} : { text: input.purposeText }),
    },
  ];
  return {
    resourceType: 'AuditEvent',
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: input.interaction }],
    action: ACTION[input.interaction],
    recorded: input.recorded,
    outcome: input.outcome === 'success' ? '0' : input.outcome === 'denied' ? '4' : '8',
    ...(input.outcomeDescription === undefined ? {} : { outcomeDesc: input.outcomeDescription }),
    purposeOfEvent: purposeOfUse,
    agent: [
      {
        who: { reference: input.context.who },
        requestor: true,
        purposeOfUse,
        ...(input.context.breakGlass === true
          ? {
              type: {
                coding: [
                  // DICOM 110127 "Emergency Override Started" marks access under break-glass.
                  input.breakGlassStopped === true
                    ? {
                        system: 'http://dicom.nema.org/resources/ontology/DCM',
                        code: '110128',
                        display: 'Emergency Override Stopped',
                      }
                    : {
                        system: 'http://dicom.nema.org/resources/ontology/DCM',
                        code: '110127',
                        display: 'Emergency Override Started',
                      },
                ],
              },
            }
          : {}),
        ...(input.context.address === undefined
          ? {}
          : { network: { address: input.context.address, type: '2' as const } }),
      },
      // A member system acting for one of its practitioners (IHE BALP: the user as a second agent).
      ...(input.context.onBehalfOf === undefined
        ? []
        : [
            {
              who: { reference: input.context.onBehalfOf },
              requestor: false,
              type: {
                coding: [
                  {
                    system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                    code: 'IRCP',
                    display: 'information recipient',
                  },
                ],
              },
            },
          ]),
    ],
    source: {
      observer: { display: input.observer.display },
      site: input.observer.origin,
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    ...(entity.length === 0 ? {} : { entity }),
  };
}

const S = JSON.stringify;
const ACTION_TEXT: Record<string, string> = Object.fromEntries(
  Object.entries(ACTION).map(([interaction, action]) => [interaction, `"action":${S(action)}`]),
);
const OPTIONAL_STRINGS = ['outcomeDescription', 'purposeText', 'entity', 'patient'] as const;
const OPTIONAL_CONTEXT_STRINGS = ['address', 'onBehalfOf'] as const;

/** Every value the text below puts in quotes is a string (else the generic serialisation is used). */
function isPlainInput(input: AuditEventInput): boolean {
  const context = input.context as Partial<AccessContext> | undefined;
  const observer = input.observer as Partial<AuditEventInput['observer']> | undefined;
  if (
    typeof context !== 'object' ||
    context === null ||
    typeof observer !== 'object' ||
    observer === null ||
    typeof context.who !== 'string' ||
    typeof context.purpose !== 'string' ||
    typeof observer.display !== 'string' ||
    typeof observer.origin !== 'string' ||
    typeof input.recorded !== 'string' ||
    typeof input.interaction !== 'string' ||
    !Object.hasOwn(ACTION_TEXT, input.interaction)
  )
    return false;
  for (const name of OPTIONAL_STRINGS) {
    const value = input[name];
    if (value !== undefined && typeof value !== 'string') return false;
  }
  for (const name of OPTIONAL_CONTEXT_STRINGS) {
    const value = context[name];
    if (value !== undefined && typeof value !== 'string') return false;
  }
  return true;
}

/**
 * The canonical JSON (`canonicalJson`, src/fhir/canonical-json.ts) of the AuditEvent the node stores
 * for `input`: `createAuditEvent(input)` with its `id` and `meta` {versionId '1', lastUpdated =
 * recorded}, written straight from its fixed shape, keys already in canonical order, each value
 * through `JSON.stringify` as canonicalJson writes it. Every read seals and commits one AuditEvent,
 * and building the object and sorting its keys was about 4% of a read's CPU (issue 16). The text is
 * the same, byte for byte, as `canonicalJson` of the object (a test compares them over thousands of
 * generated inputs), so the sealed AuditEvent, its version hash and its log commitment
 * {"t":"audit","c":...} are what they were. An input outside the declared types falls back to that
 * serialisation.
 */
export function canonicalAuditEventJson(input: AuditEventInput, id: string): string {
  if (!isPlainInput(input) || typeof id !== 'string')
    return canonicalJson({
      ...createAuditEvent(input),
      id,
      meta: { versionId: '1', lastUpdated: input.recorded },
    });
  const context = input.context;
  const recorded = S(input.recorded);
  const purposeOfUse = `[{"coding":[{"code":${S(context.purpose)},"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason"}]${
    input.purposeText === undefined ? '' : `,"text":${S(input.purposeText)}`
  }}]`;
  let agent = '[{';
  if (context.address !== undefined) agent += `"network":{"address":${S(context.address)},"type":"2"},`;
  agent += `"purposeOfUse":${purposeOfUse},"requestor":true,`;
  if (context.breakGlass === true)
    agent +=
      input.breakGlassStopped === true
        ? '"type":{"coding":[{"code":"110128","display":"Emergency Override Stopped","system":"http://dicom.nema.org/resources/ontology/DCM"}]},'
        : '"type":{"coding":[{"code":"110127","display":"Emergency Override Started","system":"http://dicom.nema.org/resources/ontology/DCM"}]},';
  agent += `"who":{"reference":${S(context.who)}}}`;
  if (context.onBehalfOf !== undefined)
    agent += `,{"requestor":false,"type":{"coding":[{"code":"IRCP","display":"information recipient","system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]},"who":{"reference":${S(context.onBehalfOf)}}}`;
  agent += ']';
  let entity = '';
  if (input.entity !== undefined || input.patient !== undefined) {
    const items: string[] = [];
    if (input.entity !== undefined)
      items.push(
        `{"type":{"code":"2","display":"System Object","system":"http://terminology.hl7.org/CodeSystem/audit-entity-type"},"what":{"reference":${S(input.entity)}}}`,
      );
    if (input.patient !== undefined)
      items.push(
        `{"role":{"code":"1","display":"Patient","system":"http://terminology.hl7.org/CodeSystem/object-role"},"type":{"code":"1","display":"Person","system":"http://terminology.hl7.org/CodeSystem/audit-entity-type"},"what":{"reference":${S(input.patient)}}}`,
      );
    entity = `"entity":[${items.join(',')}],`;
  }
  const outcome = input.outcome === 'success' ? '"0"' : input.outcome === 'denied' ? '"4"' : '"8"';
  return (
    `{${ACTION_TEXT[input.interaction]},"agent":${agent},${entity}"id":${S(id)},` +
    `"meta":{"lastUpdated":${recorded},"versionId":"1"},"outcome":${outcome},` +
    (input.outcomeDescription === undefined ? '' : `"outcomeDesc":${S(input.outcomeDescription)},`) +
    `"purposeOfEvent":${purposeOfUse},"recorded":${recorded},"resourceType":"AuditEvent",` +
    `"source":{"observer":{"display":${S(input.observer.display)}},"site":${S(input.observer.origin)},` +
    '"type":[{"code":"4","display":"Application Server","system":"http://terminology.hl7.org/CodeSystem/security-source-type"}]},' +
    `"subtype":[{"code":${S(input.interaction)},"system":"http://hl7.org/fhir/restful-interaction"}],` +
    '"type":{"code":"rest","display":"RESTful Operation","system":"http://terminology.hl7.org/CodeSystem/audit-event-type"}}'
  );
}
