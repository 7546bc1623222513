import type { AuditEvent } from '@medplum/fhirtypes';
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
