import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { Address } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { isPurposeOfUse, PURPOSE_OF_USE_SYSTEM } from '../../ledger/index.js';
import { accessRequestSentence } from '../../patient-rights/notification-sentences.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';

const LEDGER_ADDRESS_SYSTEM = 'https://careledger.dev/fhir/sid/ledger-address';
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * What the patient is told: a sentence in words (who asks, for what), with the request's id in
 * `subject` and the time in `createdAt` beside it, never inside it.
 */
export interface AccessRequestNotification {
  readonly id: string;
  readonly recipient: string;
  readonly kind: 'access-request';
  readonly message: string;
  readonly subject: string;
  readonly createdAt: string;
}

export interface AccessRequestRouteDeps {
  readonly repository: FhirRepository;
  readonly authenticate: Authenticate;
  /** This member's display name and ledger address: the grantee the patient is asked to approve. */
  readonly organization: string;
  readonly organizationAddress: Address;
  readonly notify: (notification: AccessRequestNotification) => Promise<void> | void;
  /** The asking clinician's name ("Dr Meredith Grey") from their Practitioner resource, if it has one. */
  readonly practitionerName?: (reference: string) => Promise<string | undefined>;
}

/**
 * A clinician asks a patient for access (`POST /access-requests` with `{ patient, purpose }`): the
 * request is stored as a FHIR Consent with status `proposed` naming this member as the grantee (so it
 * goes through the vault: access policy, encryption, and an AuditEvent in the patient's log), and the
 * patient is notified. The patient answers by signing a grant in the portal; nothing is granted here.
 */
export function createAccessRequestRoutes(deps: AccessRequestRouteDeps): Hono {
  const app = new Hono();

  app.post('/', async (c) => {
    const context = await deps.authenticate(c);
    if (!context.who.startsWith('Practitioner/')) {
      throw new CareLedgerError('ERR_FORBIDDEN', 'only a practitioner asks a patient for access');
    }
    const body = (await readJsonBody(c)) as { patient?: unknown; purpose?: unknown };
    if (typeof body.patient !== 'string' || !ID.test(body.patient)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'patient must be a FHIR id', {
        details: { field: 'patient' },
      });
    }
    const purpose = body.purpose ?? 'TREAT';
    if (typeof purpose !== 'string' || !isPurposeOfUse(purpose)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'purpose must be a v3 ActReason purpose of use', {
        details: { field: 'purpose' },
      });
    }
    const now = new Date().toISOString();
    const proposal = await deps.repository.create(
      {
        resourceType: 'Consent',
        status: 'proposed',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
        },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${body.patient}` },
        dateTime: now,
        performer: [{ reference: context.who }],
        policyRule: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }],
        },
        provision: {
          type: 'permit',
          actor: [
            {
              role: {
                coding: [
                  { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' },
                ],
              },
              reference: {
                identifier: { system: LEDGER_ADDRESS_SYSTEM, value: deps.organizationAddress },
                display: `${context.who} (${deps.organization})`,
              },
            },
          ],
          purpose: [{ system: PURPOSE_OF_USE_SYSTEM, code: purpose }],
        },
      },
      context,
    );
    await deps.notify({
      id: randomUUID(),
      recipient: `Patient/${body.patient}`,
      kind: 'access-request',
      message: accessRequestSentence({
        clinician: await deps.practitionerName?.(context.who),
        organization: deps.organization,
        purpose,
      }),
      subject: `Consent/${proposal.id}`,
      createdAt: now,
    });
    return c.json(
      { request: `Consent/${proposal.id}`, patient: `Patient/${body.patient}`, status: 'proposed' },
      201,
    );
  });

  return app;
}
