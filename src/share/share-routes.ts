/**
 * Telehealth share routes (issue 22, decision 0030).
 *
 *   POST /shares                 the signed-in patient creates a share: answers the link and the code once
 *   GET  /shares                 the patient's shares (no secrets)
 *   POST /shares/:id/revoke      the patient ends a share at once
 *   POST /shared/:id/open        the outside clinician: { link, code } → { session }
 *   GET  /shared/:id/records     the shared records (`?category=` one of them), headers X-Share-Link, X-Share-Session
 *   GET  /shared/:id/summary     the International Patient Summary of the shared records, signed by the member
 *   GET  /.well-known/careledger-document-signer   who signs this node's documents (address, algorithm)
 */
import { randomUUID } from 'node:crypto';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { createIpsDocument, type DocumentSigner, signDocument } from '../fhir/ips/index.js';
import type { Authenticate } from '../http/authenticate-request.js';
import { readJsonBody } from '../http/read-json-body.js';
import { remoteAddress } from '../http/remote-address.js';
import { verifyScopesReadTypes } from '../smart/account-scopes.js';
import type { FhirRepository } from '../vault/fhir-repository.js';
import { isShared, type ShareService, shareAccessContext, sharedTypes } from './share-service.js';
import type { TelehealthShare } from './share-store.js';

export interface ShareRouteDeps {
  readonly service: ShareService;
  readonly repository: Pick<FhirRepository, 'everything' | 'recordDenied'>;
  readonly authenticate: Authenticate;
  readonly organization: string;
  readonly signer: DocumentSigner;
  readonly now?: () => Date;
  readonly uuid?: () => string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const FHIR_JSON = 'application/fhir+json';

function shareId(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!ID.test(id)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such share');
  return id;
}

/** What the patient sees of a share (never the hashes). */
function publicShare(share: TelehealthShare) {
  return {
    id: share.id,
    categories: share.categories,
    purposeText: share.purposeText,
    recipient: share.recipient,
    createdAt: share.createdAt,
    expiresAt: share.expiresAt,
    ...(share.revokedAt === undefined ? {} : { revokedAt: share.revokedAt }),
    ...(share.codeUsedAt === undefined ? {} : { openedAt: share.codeUsedAt }),
  };
}

/** The signed-in patient; staff and members do not create shares for a patient. */
async function patientOf(deps: ShareRouteDeps, c: Context): Promise<string> {
  return (await signedInPatient(deps, c)).patientId;
}

async function signedInPatient(
  deps: ShareRouteDeps,
  c: Context,
): Promise<{ patientId: string; context: AccessContext }> {
  const context = await deps.authenticate(c);
  if (!context.who.startsWith('Patient/'))
    throw new CareLedgerError('ERR_FORBIDDEN', 'only the patient shares their own record');
  return { patientId: context.who.slice('Patient/'.length), context };
}

export function createShareRoutes(deps: ShareRouteDeps): Hono {
  const app = new Hono();
  const { service } = deps;

  app.post('/shares', async (c) => {
    const { patientId, context } = await signedInPatient(deps, c);
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    // Its reader sees every record of the shared categories: the token must be able to read them all
    // (an app launched for some resource types cannot share the whole record with itself; decision 0031).
    if (Array.isArray(body?.categories)) {
      const categories = body.categories.filter((x): x is string => typeof x === 'string');
      verifyScopesReadTypes(context, sharedTypes(categories), 'a telehealth share');
    }
    const created = await service.create(patientId, {
      categories: body?.categories,
      hours: body?.hours,
      purposeText: body?.purposeText,
      recipient: body?.recipient,
    });
    const origin = new URL(c.req.url).origin;
    return c.json(
      {
        share: publicShare(created.share),
        link: `${origin}/portal/#/shared/${created.share.id}/${created.linkSecret}`,
        code: created.code,
      },
      201,
    );
  });

  app.get('/shares', async (c) => {
    const patientId = await patientOf(deps, c);
    return c.json({ shares: (await service.list(patientId)).map(publicShare) });
  });

  app.post('/shares/:id/revoke', async (c) => {
    const patientId = await patientOf(deps, c);
    return c.json({ share: publicShare(await service.revoke(patientId, shareId(c))) });
  });

  app.post('/shared/:id/open', async (c) => {
    const id = shareId(c);
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    const link = typeof body?.link === 'string' ? body.link : '';
    const { session, share } = await service.open(id, link, body?.code, remoteAddress(c) ?? 'unknown');
    return c.json({
      session,
      categories: share.categories,
      purposeText: share.purposeText,
      expiresAt: share.expiresAt,
      organization: deps.organization,
    });
  });

  const viewing = (c: Context) =>
    service.viewing(shareId(c), c.req.header('x-share-link') ?? '', c.req.header('x-share-session') ?? '');

  /** The shared records: only those whose every category was shared; one AuditEvent per read. */
  const sharedRecords = async (c: Context, share: TelehealthShare, categories: readonly string[]) => {
    const context = shareAccessContext(share, remoteAddress(c));
    const resources = await deps.repository.everything(share.patientId, context, sharedTypes(categories));
    return resources.filter((r) => isShared(r, categories));
  };

  app.get('/shared/:id/records', async (c) => {
    const share = await viewing(c);
    const asked = c.req.query('category');
    if (asked !== undefined && !share.categories.includes(asked)) {
      await deps.repository.recordDenied('operation', shareAccessContext(share, remoteAddress(c)), {
        entity: `Patient/${share.patientId}/$everything`,
        patient: share.patientId,
        reason: `telehealth share ${share.id} does not include category ${asked}`,
      });
      throw new CareLedgerError('ERR_FORBIDDEN', 'the patient did not share this category');
    }
    const resources: Resource[] = await sharedRecords(
      c,
      share,
      asked === undefined ? share.categories : [asked],
    );
    return c.body(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'searchset',
        total: resources.length,
        entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
      }),
      200,
      { 'Content-Type': FHIR_JSON },
    );
  });

  app.get('/shared/:id/summary', async (c) => {
    const share = await viewing(c);
    const resources = await sharedRecords(c, share, share.categories);
    const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
    if (patient === undefined)
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'a patient summary names the patient: this share leaves out Demographics',
      );
    const now = deps.now ?? (() => new Date());
    const document = createIpsDocument({
      patient,
      resources,
      author: { name: deps.organization, address: deps.signer.address },
      now,
      uuid: deps.uuid ?? randomUUID,
    });
    return c.body(JSON.stringify(await signDocument(document, deps.signer, { now })), 200, {
      'Content-Type': FHIR_JSON,
    });
  });

  app.get('/.well-known/careledger-document-signer', (c) =>
    c.json({
      organization: deps.organization,
      address: deps.signer.address,
      algorithm: 'ES256K',
      signatureFormat: 'application/jose (detached payload, kid = address)',
      verify:
        'recover the secp256k1 public key from Bundle.signature (SEC 1 §4.1.6) and compare its address with kid and with this address',
    }),
  );

  return app;
}
