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
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import { readJsonBody } from '../../http/read-json-body.js';
import { evaluateScopes, type ScopePermission } from '../../smart/index.js';
import type { EpcisCaptureService } from '../capture/epcis-capture.js';
import { isGs1CheckDigitValid } from '../gs1/index.js';
import type { SupplyLedger } from '../ledger/supply-ledger.js';
import type { RecallService } from '../recall/recall-service.js';
import type { SupplyStore } from '../storage/supply-store.js';
import { type PackIdentity, parsePackIdentity, type VerificationResponse } from '../verify/verify-pack.js';

export interface SupplyRouteDeps {
  readonly authenticate: Authenticate;
  readonly capture: EpcisCaptureService;
  readonly store: SupplyStore;
  readonly ledger: SupplyLedger;
  readonly verify: (pack: PackIdentity, asker: Address) => Promise<VerificationResponse>;
  readonly recalls: RecallService;
  /** This member's ledger address (the asker for its own staff). */
  readonly self: Address;
  readonly now?: () => Date;
}

export async function authorize(
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

  /** The GLN directory: a member names a GLN (13 digits, party or location) as its own. */
  app.post('/glns', async (c) => {
    await authorize(deps, c, 'c', false);
    const gln = parseGln(stringField(await readJsonBody(c), 'gln'));
    const owner = await deps.ledger.glnOwner(gln);
    if (owner !== undefined && owner !== deps.ledger.self) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', `GLN ${gln} already belongs to another member`, {
        details: { reason: 'gln-taken', member: owner },
      });
    }
    const done = await deps.ledger.confirmed(await deps.ledger.claimGln(gln));
    return c.json({ gln, member: deps.ledger.self, txHash: done.txHash }, 201);
  });

  /** Who a GLN belongs to (`/glns/{gln}`), or the GLNs a member claimed (`/glns?member=0x…`). */
  app.get('/glns/:gln', async (c) => {
    await authorize(deps, c, 'r', true);
    const gln = parseGln(c.req.param('gln'));
    const member = await deps.ledger.glnOwner(gln);
    if (member === undefined) throw new CareLedgerError('ERR_NOT_FOUND', `no member claimed GLN ${gln}`);
    return c.json({ gln, member });
  });

  app.get('/glns', async (c) => {
    await authorize(deps, c, 'r', true);
    const member = c.req.query('member') ?? deps.self;
    if (!isAddress(member, { strict: false })) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'member must be a ledger address', {
        details: { field: 'member' },
      });
    }
    return c.json({ member: getAddress(member), glns: await deps.ledger.glnsOf(getAddress(member)) });
  });

  return app;
}

/** A GLN: 13 digits with a valid GS1 check digit. */
function parseGln(text: string): string {
  if (!/^\d{13}$/.test(text) || !isGs1CheckDigitValid(text)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a GLN is 13 digits with a valid check digit', {
      details: { reason: 'gln', field: 'gln' },
    });
  }
  return text;
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
