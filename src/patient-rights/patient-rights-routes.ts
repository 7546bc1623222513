/**
 * `/patient-rights`: the patient's HIPAA individual rights and requests (issue 22, decision 0029).
 * Every read and write goes through the vault with the caller's own access context, so the access
 * policy judges and the audit trail records it like any FHIR interaction; a patient reaches only
 * their own compartment. Errors carry codes and field names, never record content.
 */
import type { AuditEvent, Communication, HumanName, Patient, Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import type { Authenticate } from '../http/authenticate-request.js';
import { readJsonBody } from '../http/read-json-body.js';
import type { FhirRepository } from '../vault/fhir-repository.js';
import { decideAmendment } from './amendment-decision.js';
import { accountDisclosures, disclosuresAsBundle, type NameOf } from './disclosure-accounting.js';
import { isAddressedTo, unreadMessages } from './message-read-state.js';
import {
  buildAmendmentRequest,
  buildAppointmentRequest,
  buildMessage,
  buildRefillRequest,
  parseText,
} from './patient-request-builders.js';
import { parsePractitionerRefs, practitionerNames } from './practitioner-names.js';
import { disclosureReportHtml, PRINTABLE_HEADERS, recordCopyHtml } from './printable-html.js';

export type PatientRightsRepository = Pick<
  FhirRepository,
  'read' | 'create' | 'update' | 'search' | 'everything' | 'auditTrail'
>;

export interface PatientRightsDeps {
  readonly repository: PatientRightsRepository;
  readonly authenticate: Authenticate;
  /** Names of recipients (members, practitioners) for the accounting; undefined when unknown. */
  readonly nameOf: NameOf;
  /** This node's organization, named on printouts. */
  readonly organization: string;
  /** The name on this node's Practitioner resource (practitioner-names.ts); absent: no names answered. */
  readonly practitionerName?: (id: string) => Promise<string | undefined>;
  readonly now?: () => Date;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const PAGE = 200;
/** The record copy's sections (and Patient for the name). */
const RECORD_TYPES = [
  'Patient',
  'AllergyIntolerance',
  'Condition',
  'MedicationRequest',
  'MedicationStatement',
  'Immunization',
  'Observation',
  'DiagnosticReport',
  'Procedure',
  'Encounter',
  'CarePlan',
  'Appointment',
  'DocumentReference',
];

/** The patient a request concerns: a patient's own id, or `?patient=` for staff (the policy judges). */
function patientOf(c: Context, context: AccessContext): string {
  const [type, id] = context.who.split('/');
  if (type === 'Patient' && id !== undefined) return id;
  const asked = c.req.query('patient') ?? '';
  if (!ID.test(asked)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'patient must be a Patient id', {
      details: { field: 'patient' },
    });
  }
  return asked;
}

function ownPatient(context: AccessContext): string {
  const [type, id] = context.who.split('/');
  if (type !== 'Patient' || id === undefined || id === '') {
    throw new CareLedgerError('ERR_FORBIDDEN', 'only a patient signed in to their own account may ask this');
  }
  return `Patient/${id}`;
}

function nameOfPatient(patient: Patient | undefined): string {
  const n: HumanName | undefined = patient?.name?.find((x) => x.use === 'official') ?? patient?.name?.[0];
  if (n === undefined) return 'the patient';
  return n.text ?? [...(n.given ?? []), n.family ?? ''].join(' ').trim();
}

/** Every match of a search, page by page, through the vault. */
async function searchAll(
  repository: PatientRightsRepository,
  type: string,
  params: Record<string, string>,
  context: AccessContext,
): Promise<Resource[]> {
  const all: Resource[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const query = new URLSearchParams({ ...params, _count: String(PAGE), _offset: String(offset) });
    const page = await repository.search(type, query, context, { handling: 'strict' });
    all.push(...page.resources);
    if (page.more !== true || page.resources.length === 0) return all;
  }
}

export function createPatientRightsRoutes(deps: PatientRightsDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? (() => new Date());

  const disclosures = async (c: Context) => {
    const context = await deps.authenticate(c);
    const patientId = patientOf(c, context);
    const events = (await searchAll(
      deps.repository,
      'AuditEvent',
      { patient: patientId },
      context,
    )) as AuditEvent[];
    const at = now();
    const rows = await accountDisclosures(events, {
      patientReference: `Patient/${patientId}`,
      now: at,
      nameOf: deps.nameOf,
    });
    return { c, context, patientId, rows, at };
  };

  // 45 CFR 164.528: `?format=html` a printable report, else FHIR (a Bundle: a List and the AuditEvents).
  app.get('/disclosures', async (c) => {
    const { context, patientId, rows, at } = await disclosures(c);
    if (c.req.query('format') === 'html') {
      const patient = (await deps.repository.read('Patient', patientId, context).catch(() => undefined)) as
        | Patient
        | undefined;
      return c.body(
        disclosureReportHtml(rows, {
          patientName: nameOfPatient(patient),
          organization: deps.organization,
          now: at,
        }),
        200,
        PRINTABLE_HEADERS,
      );
    }
    return c.json(disclosuresAsBundle(rows, { patientReference: `Patient/${patientId}`, now: at }), 200, {
      'content-type': 'application/fhir+json; charset=utf-8',
      'cache-control': 'no-store',
    });
  });

  // A human-readable copy of the record, beside the FHIR Bundle and the IPS (print or save as PDF).
  app.get('/record', async (c) => {
    const context = await deps.authenticate(c);
    const patientId = patientOf(c, context);
    const resources = await deps.repository.everything(patientId, context, RECORD_TYPES);
    const patient = resources.find((r) => r.resourceType === 'Patient' && r.id === patientId) as
      | Patient
      | undefined;
    return c.body(
      recordCopyHtml(resources, {
        patientName: nameOfPatient(patient),
        organization: deps.organization,
        now: now(),
      }),
      200,
      PRINTABLE_HEADERS,
    );
  });

  // The patient's requests: each a FHIR resource created in their own compartment, audited.
  const create = (build: (body: unknown, patient: string, at: Date) => Resource) => async (c: Context) => {
    const context = await deps.authenticate(c);
    const patient = ownPatient(context);
    const resource = build(await readJsonBody(c), patient, now());
    const created = await deps.repository.create(resource, context);
    return c.json(created, 201, { 'content-type': 'application/fhir+json; charset=utf-8' });
  };
  app.post('/amendments', create(buildAmendmentRequest));
  app.post('/refills', create(buildRefillRequest));
  app.post('/appointments', create(buildAppointmentRequest));
  app.post('/messages', create(buildMessage));

  // The care team's answer to an amendment request: `{ decision: "accept", amended }` or `{ decision: "deny", reason }`.
  app.post('/amendments/:id/decision', async (c) => {
    const id = c.req.param('id');
    if (!ID.test(id)) throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid Task id');
    const context = await deps.authenticate(c);
    if (!context.who.startsWith('Practitioner/')) {
      throw new CareLedgerError('ERR_FORBIDDEN', 'the care team decides amendment requests');
    }
    const body = (await readJsonBody(c)) as Record<string, unknown> | null;
    const decision = body?.decision;
    const outcome =
      decision === 'accept'
        ? await decideAmendment(
            deps.repository,
            id,
            {
              decision: 'accept',
              amended: parseAmended(body?.amended),
              ...(body?.note === undefined ? {} : { note: parseText(body.note, 'note') as string }),
            },
            context,
            now(),
          )
        : decision === 'deny'
          ? await decideAmendment(
              deps.repository,
              id,
              { decision: 'deny', reason: parseText(body?.reason, 'reason') as string },
              context,
              now(),
            )
          : undefined;
    if (outcome === undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'decision must be accept or deny', {
        details: { field: 'decision' },
      });
    }
    return c.json(outcome, 200);
  });

  // Unread messages for the signed-in user: the patient's own, or for staff `?patient=`.
  // Issue 22: the personal names of this node's practitioners, for any signed-in user.
  app.get('/practitioner-names', async (c) => {
    await deps.authenticate(c);
    const ids = parsePractitionerRefs(c.req.queries('ref') ?? []);
    const lookup = deps.practitionerName;
    return c.json({ names: lookup === undefined ? {} : await practitionerNames(ids, lookup) });
  });

  app.get('/messages/unread', async (c) => {
    const context = await deps.authenticate(c);
    const patientId = patientOf(c, context);
    const messages = (await searchAll(
      deps.repository,
      'Communication',
      { subject: `Patient/${patientId}` },
      context,
    )) as Communication[];
    // The read marks are the patient's audit trail; the list above was judged by the policy first, and
    // the trail is read only when a message it let through is addressed to the caller: who may see none
    // (another member, another patient) costs what a made-up patient costs (issue 14 item 5).
    const isCareTeam = context.who.startsWith('Practitioner/');
    const addressed = messages.filter((m) => isAddressedTo(m, context.who, isCareTeam));
    const events =
      addressed.length === 0 ? [] : (await deps.repository.auditTrail(patientId)).map((r) => r.auditEvent);
    const unread = unreadMessages(addressed, events, context.who, isCareTeam);
    return c.json({ unread: unread.length, ids: unread.map((m) => m.id) }, 200, {
      'cache-control': 'no-store',
    });
  });

  return app;
}

function parseAmended(value: unknown): Resource {
  if (typeof value !== 'object' || value === null || typeof (value as Resource).resourceType !== 'string') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'amended must be the amended FHIR resource', {
      details: { field: 'amended' },
    });
  }
  return value as Resource;
}
