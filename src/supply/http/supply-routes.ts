/**
 * The supply chain's HTTP face (decision 0023): EPCIS 2.0 capture and query under `/epcis` (errors as
 * RFC 7807 problem+json, as the EPCIS REST binding asks), product verification and recalls under
 * `/supply` (errors as FHIR OperationOutcome, like the rest of the node).
 *
 * Who may call: this member's staff (a Practitioner signed in here) for everything; another member's
 * system (`Organization/0x…`) for verification only. With a SMART token, capture and recalls need a
 * `user/` or `system/` scope that creates Medication, queries a search scope, verification a read scope.
 */
import { type Context, Hono } from 'hono';
import { type Address, getAddress, type Hex, isHex } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import { readJsonBody } from '../../http/read-json-body.js';
import { evaluateScopes, type ScopePermission } from '../../smart/index.js';
import type { EpcisCaptureService } from '../capture/epcis-capture.js';
import { queryEpcisEvents } from '../capture/epcis-query.js';
import type { RecallService } from '../recall/recall-service.js';
import type { SupplyStore } from '../storage/supply-store.js';
import { type PackIdentity, parsePackIdentity, type VerificationResponse } from '../verify/verify-pack.js';
import { problemResponse } from './epcis-problem.js';

export interface SupplyRouteDeps {
  readonly authenticate: Authenticate;
  readonly capture: EpcisCaptureService;
  readonly store: SupplyStore;
  readonly verify: (pack: PackIdentity, asker: Address) => Promise<VerificationResponse>;
  readonly recalls: RecallService;
  /** This member's ledger address (the asker for its own staff). */
  readonly self: Address;
  readonly now?: () => Date;
}

async function authorize(
  deps: SupplyRouteDeps,
  c: Context,
  permission: ScopePermission,
  members: boolean,
): Promise<{ context: AccessContext; asker: Address }> {
  const context = await deps.authenticate(c);
  const staff = context.who.startsWith('Practitioner/');
  const member = members && context.member !== undefined && context.who.startsWith('Organization/');
  if (!staff && !member) {
    throw new CareLedgerError('ERR_FORBIDDEN', "the supply chain is for a member's staff and systems");
  }
  if (context.scopes !== undefined) {
    const allowed = (['user', 'system'] as const).some(
      (scopeContext) =>
        evaluateScopes(context.scopes ?? [], {
          context: scopeContext,
          resourceType: 'Medication',
          interaction: permission,
        }).allowed,
    );
    if (!allowed) {
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        `the token has no scope to ${permission === 'c' ? 'write' : 'read'} Medication`,
      );
    }
  }
  return { context, asker: member && context.member !== undefined ? getAddress(context.member) : deps.self };
}

/** Routes mounted at `/epcis`. */
export function createEpcisRoutes(deps: SupplyRouteDeps): Hono {
  const app = new Hono();
  app.onError((error, c) => problemResponse(c, error));

  app.post('/capture', async (c) => {
    await authorize(deps, c, 'c', false);
    const result = await deps.capture.capture(await readJsonBody(c));
    c.header('Location', `/epcis/capture/${result.captureID}`);
    return c.json(result, 202);
  });

  app.get('/events', async (c) => {
    await authorize(deps, c, 's', false);
    const result = await queryEpcisEvents(deps.store, new URL(c.req.url).searchParams, deps.now?.());
    if (result.nextPageToken !== undefined) {
      const next = new URL(c.req.url);
      next.searchParams.set('nextPageToken', result.nextPageToken);
      c.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
    }
    c.header('GS1-EPCIS-Version', '2.0.0');
    return c.body(JSON.stringify(result.document), 200, { 'content-type': 'application/ld+json' });
  });

  return app;
}

/** Routes mounted at `/supply`. */
export function createSupplyRoutes(deps: SupplyRouteDeps): Hono {
  const app = new Hono();

  app.post('/verify', async (c) => {
    const { asker } = await authorize(deps, c, 'r', true);
    return c.json(await deps.verify(packOfBody(await readJsonBody(c), deps.now?.()), asker));
  });

  /** The manufacturer recalls a lot (`{gtin, lot}`) or one serial (`{gtin, serial}`). */
  app.post('/recalls', async (c) => {
    await authorize(deps, c, 'c', false);
    const body = await readJsonBody(c);
    const gtin = stringField(body, 'gtin');
    const serial = body.serial === undefined ? undefined : stringField(body, 'serial');
    const lot = body.lot === undefined ? undefined : stringField(body, 'lot');
    if ((serial === undefined) === (lot === undefined)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a recall names either a lot or a serial', {
        details: { reason: 'recall-target' },
      });
    }
    const result =
      lot !== undefined
        ? await deps.recalls.recallLot(gtin, lot)
        : await deps.recalls.recallPack(gtin, serial as string);
    return c.json(result, 202);
  });

  /** How many patients a recall reached, per member (counts only): `?gtin=&lot=` or `?lotKey=0x…`. */
  app.get('/recalls/reach', async (c) => {
    await authorize(deps, c, 'r', false);
    const lotKey = c.req.query('lotKey');
    const gtin = c.req.query('gtin');
    const lot = c.req.query('lot');
    let key: Hex;
    if (lotKey !== undefined && isHex(lotKey) && lotKey.length === 66) key = lotKey;
    else if (gtin !== undefined && lot !== undefined) key = deps.recalls.lotKey(gtin, lot);
    else throw new CareLedgerError('ERR_INVALID_INPUT', 'name the lot: gtin and lot, or lotKey');
    return c.json(await deps.recalls.reach(key));
  });

  return app;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${name} must be a non-empty string`, {
      details: { field: name },
    });
  }
  return value.trim();
}

/** `{ "datamatrix": "…" }`, `{ "digitalLink": "…" }`, or `{ gtin, serial, lot?, expiry? }`. */
function packOfBody(body: Record<string, unknown>, now?: Date): PackIdentity {
  if (typeof body.datamatrix === 'string') return parsePackIdentity(body.datamatrix, now);
  if (typeof body.digitalLink === 'string') return parsePackIdentity(body.digitalLink, now);
  const gtin = stringField(body, 'gtin');
  const serial = stringField(body, 'serial');
  const expiry = body.expiry === undefined ? undefined : stringField(body, 'expiry');
  if (expiry !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(expiry)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'expiry is an ISO date YYYY-MM-DD', {
      details: { field: 'expiry' },
    });
  }
  const lot = body.lot === undefined ? undefined : stringField(body, 'lot');
  // Builds the human-readable element string so the GTIN's check digit and the serial's characters are checked.
  const parsed = parsePackIdentity(`(01)${gtin}(21)${serial}${lot === undefined ? '' : `(10)${lot}`}`, now);
  return { ...parsed, ...(expiry === undefined ? {} : { expiry }) };
}
