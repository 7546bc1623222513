import { Hono } from 'hono';
import type { Address } from 'viem';
import { getAddress, isAddress } from 'viem';
import { LEDGER_ADDRESS_SYSTEM } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { identificationParameters } from '../../exchange/identification-parameters.js';
import type { ExchangeService } from '../../exchange/index.js';
import { isPurposeOfUse } from '../../ledger/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';

export interface ExchangeRoutesOptions {
  readonly exchange: ExchangeService;
  readonly repository: FhirRepository;
  readonly authenticate: Authenticate;
  /** The ledger address of a signed-in practitioner here (their account), to name them to the other member. */
  readonly practitionerAddress: (
    context: AccessContext,
  ) => Promise<Address | undefined> | Address | undefined;
}

/**
 * `POST /fhir/Patient/{id}/$fetch-from-members`: a clinician here pulls the patient's records from the
 * other members holding some (RecordLocator), each version verified against its member's anchored log.
 * Mounted under `/fhir` before the FHIR routes.
 */
export function createExchangeFhirRoutes(options: ExchangeRoutesOptions): Hono {
  const app = new Hono();
  // Registered before `/Patient/:id` (these routes are mounted first), so `$identify` is not an id.
  app.get('/Patient/$identify', async (c) => {
    // Who asks first: an anonymous caller learns nothing, not even what the operation expects.
    const context = await options.authenticate(c);
    const [system, value] = (c.req.query('identifier') ?? '').split('|');
    if (system !== LEDGER_ADDRESS_SYSTEM || value === undefined || !isAddress(value, { strict: false })) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `identifier must be ${LEDGER_ADDRESS_SYSTEM}|<ledger address>`,
        { details: { field: 'identifier' } },
      );
    }
    const found = await options.repository.identifyPatient(getAddress(value), context);
    return c.json(identificationParameters(found, context.purpose), 200, { 'cache-control': 'no-store' });
  });
  app.post('/Patient/:id/$fetch-from-members', async (c) => {
    const context = await options.authenticate(c);
    if (!context.who.startsWith('Practitioner/')) {
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'only a practitioner of this member fetches from other members',
      );
    }
    const purpose = c.req.query('purpose') ?? context.purpose;
    if (!isPurposeOfUse(purpose))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'purpose is not an HL7 v3 PurposeOfUse code');
    const practitioner = await options.practitionerAddress(context);
    const report = await options.exchange.pull(c.req.param('id'), context, {
      purpose,
      ...(practitioner === undefined ? {} : { practitioner }),
    });
    return c.json(report, 200);
  });
  return app;
}

/**
 * The patient's one view across members (`/patient/everywhere`): GET lists the members holding their
 * records and the audience to sign an assertion for at each; POST takes those assertions (signed with
 * the patient's key in their browser or CLI) and returns the merged records and access history, each
 * entry with its proof status.
 */
export function createPatientViewRoutes(options: ExchangeRoutesOptions): Hono {
  const app = new Hono();
  const patientAddress = async (context: AccessContext): Promise<Address> => {
    if (!context.who.startsWith('Patient/'))
      throw new CareLedgerError('ERR_FORBIDDEN', 'this view is for a signed-in patient');
    return options.exchange.ledgerAddressOf(context.who.slice('Patient/'.length), context);
  };
  app.get('/', async (c) => {
    const address = await patientAddress(await options.authenticate(c));
    return c.json({ patient: address, members: await options.exchange.patientAudiences(address) });
  });
  app.post('/', async (c) => {
    const address = await patientAddress(await options.authenticate(c));
    const body = (await readJsonBody(c)) as { assertions?: unknown };
    if (!Array.isArray(body.assertions)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'assertions must be an array of { member, assertion }');
    }
    const assertions = new Map<string, string>();
    for (const item of body.assertions as { member?: unknown; assertion?: unknown }[]) {
      if (
        typeof item?.member !== 'string' ||
        !isAddress(item.member, { strict: false }) ||
        typeof item.assertion !== 'string'
      )
        throw new CareLedgerError('ERR_INVALID_INPUT', 'each assertion needs a member address and a JWT');
      assertions.set(getAddress(item.member).toLowerCase(), item.assertion);
    }
    return c.json(await options.exchange.collectForPatient(address, assertions), 200, {
      'cache-control': 'no-store',
    });
  });
  return app;
}
