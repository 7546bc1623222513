import { type Context, Hono } from 'hono';
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import {
  type ConsentOpeningStore,
  type DelegationInForce,
  type DeliverOpening,
  evaluateConsent,
  evaluateOpening,
  type IsDelegate,
  parseConsentOpening,
  parseSignedDelegation,
  parseSignedGrant,
  parseSignedRevoke,
} from '../../consent/index.js';
import { CareLedgerError } from '../../errors/index.js';
import {
  type ConsentRelayLimits,
  type ConsortiumLedger,
  createConsentDomain,
  encodeCategories,
  encodePurposes,
  type OutboxEntry,
  parseMemberRole,
} from '../../ledger/index.js';
import type { ChainIndexer, ChainIndexStorage, IndexedGrant } from '../../sync/index.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';
import { remoteAddress } from '../remote-address.js';
import { namesSensitiveCategory, verifyConsentCheckCaller } from './consent-check-caller.js';

export interface LedgerRouteDeps {
  readonly ledger: ConsortiumLedger;
  readonly index: ChainIndexStorage;
  readonly indexer: ChainIndexer;
  readonly now: () => number;
  /** Whether a signer may sign consent for a patient (ConsentRegistry.isDelegate, read from the chain). */
  readonly isDelegate?: IsDelegate;
  /** Whether a delegate's delegation is in force at a time (decision 0021); without it, delegates' grants count for nothing. */
  readonly delegationInForce?: DelegationInForce;
  /** Appends an entry to the node's transparency log; resolves once durable. */
  readonly audit: (entry: Uint8Array) => Promise<{ index: number }>;
  /** The openings of grant commitments this node enforces, sealed at rest (decision 0013). */
  readonly openings: ConsentOpeningStore;
  /** Sends a relayed grant's opening to the other members that must enforce it. */
  readonly deliverOpening?: DeliverOpening;
  /** Who asks: a consent question naming a sensitive category needs staff or the grantee (consent-check-caller.ts). */
  readonly authenticate?: Authenticate;
  /** Bounds on anonymous relays, per source address and node-wide (security review F9); none without it. */
  readonly relayLimits?: ConsentRelayLimits;
}

/**
 * The log entry for a relayed consent change. It names only ledger identifiers (grant id, transaction
 * hash, pseudonymous addresses already public on the chain), never PHI.
 */
function relayEntry(
  kind: 'grant' | 'revoke',
  grantId: string,
  entry: OutboxEntry,
  relayer: string,
  at: number,
) {
  return new TextEncoder().encode(
    JSON.stringify({
      type: 'consent-relay',
      action: kind,
      grantId,
      txHash: entry.txHash,
      relayer,
      time: new Date(at).toISOString(),
    }),
  );
}

function describeEntry(entry: OutboxEntry) {
  return {
    outboxId: entry.id,
    txHash: entry.txHash,
    status: entry.status,
    blockNumber: entry.blockNumber,
    receiptStatus: entry.receiptStatus,
  };
}

/**
 * A grant as the ledger shows it to every member: no terms, only their commitment (decision 0013).
 * What it covers is not served here even when this node holds its opening; the patient reads it in
 * their FHIR Consent, the enforcing members in their own store.
 */
function describeGrant(grant: IndexedGrant) {
  return {
    grantId: grant.grantId,
    patient: grant.patient,
    grantee: grant.grantee,
    termsHash: grant.termsHash,
    notBefore: grant.notBefore,
    notAfter: grant.notAfter,
    nonce: grant.nonce.toString(),
    revokedAt: grant.revokedAt,
    blockNumber: grant.blockNumber,
    txHash: grant.txHash,
  };
}

function queryAddress(value: string | undefined, name: string): Address {
  if (value === undefined || !isAddress(value, { strict: false })) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `query parameter ${name} must be an address`, {
      details: { field: name },
    });
  }
  return getAddress(value);
}

/** The relay is acknowledged only once its log entry is durable; a log that cannot append is a 503. */
async function logRelay(
  deps: LedgerRouteDeps,
  entry: Uint8Array,
): Promise<{ logIndex: number; logProof: string }> {
  try {
    const { index } = await deps.audit(entry);
    return { logIndex: index, logProof: `/log/proof/${index}` };
  } catch (cause) {
    throw new CareLedgerError(
      'ERR_LOG_UNAVAILABLE',
      'the transparency log could not record the relay; retry',
      { cause },
    );
  }
}

/** `wait=true` answers 201 once the transaction is mined (or its revert), else 202 once stored. */
async function answerWrite(
  deps: LedgerRouteDeps,
  entry: OutboxEntry,
  wait: boolean,
  extra: Record<string, unknown>,
) {
  if (!wait) return { status: 202 as const, body: { ...extra, ...describeEntry(entry) } };
  const done = await deps.ledger.outbox.waitForConfirmation(entry.id, 30_000);
  if (done.receiptStatus === 'reverted') {
    throw new CareLedgerError('ERR_CHAIN_REVERTED', 'the transaction was mined but reverted', {
      details: { txHash: done.txHash },
    });
  }
  return { status: 201 as const, body: { ...extra, ...describeEntry(done) } };
}

/** Ledger endpoints of a node: consent relay and queries from the local index, members, transactions. */
export function createLedgerRoutes(deps: LedgerRouteDeps): Hono {
  const app = new Hono();
  const domain = () =>
    createConsentDomain(deps.ledger.deployment.chainId, deps.ledger.deployment.contracts.consentRegistry);

  const delegates = () => (deps.isDelegate === undefined ? {} : { isDelegate: deps.isDelegate });
  // Counted before the body is read or anything is stored, sent or logged: a refused relay costs nothing.
  const countRelay = (c: Context, kind: 'chain' | 'opening') =>
    deps.relayLimits?.count(kind, remoteAddress(c)) ?? Promise.resolve();

  // Roles by name, as `careledger chain status --json` gives them (the index keeps the uint8).
  app.get('/members', async (c) =>
    c.json({
      members: (await deps.index.members()).map((m) => ({ ...m, role: parseMemberRole(m.role) })),
    }),
  );

  /**
   * Admission and removal proposals with their votes, oldest first, folded from the registry's
   * ProposalCreated and VoteCast events in this node's index. Names are those of the index's members:
   * the subject of an admission still pending is not a member yet, so its name is null.
   */
  app.get('/proposals', async (c) => {
    const [proposals, members] = await Promise.all([deps.index.proposals(), deps.index.members()]);
    const names = new Map(members.map((m) => [m.address, m.name]));
    const nowSeconds = Math.floor(deps.now() / 1000);
    return c.json({
      proposals: proposals.map((p) => ({
        id: p.id,
        kind: p.kind,
        status: p.executed ? 'executed' : nowSeconds >= p.expiresAt ? 'expired' : 'pending',
        subject: p.subject,
        subjectName: names.get(p.subject) ?? null,
        proposer: p.proposer,
        proposerName: names.get(p.proposer) ?? null,
        votes: p.votes,
        threshold: p.threshold,
        executed: p.executed,
        expiresAt: p.expiresAt,
        voters: p.voters.map((address) => ({ address, name: names.get(address) ?? null })),
        blockNumber: p.blockNumber,
        txHash: p.txHash,
      })),
    });
  });

  /**
   * Practitioners attested on ConsortiumRegistry (keyed credential hashes and qualification codes,
   * no PHI), revoked and expired ones included, optionally of one organization.
   */
  app.get('/practitioners', async (c) => {
    const organization = c.req.query('organization');
    const [list, members] = await Promise.all([
      deps.index.practitioners(
        organization === undefined ? {} : { organization: queryAddress(organization, 'organization') },
      ),
      deps.index.members(),
    ]);
    const active = new Set(members.filter((m) => m.status === 'active').map((m) => m.address));
    const nowSeconds = Math.floor(deps.now() / 1000);
    return c.json({
      practitioners: list.map((p) => {
        const expired = nowSeconds >= p.expiresAt;
        // ConsortiumRegistry.practitionerStatus: not revoked, not expired, attested by an active member.
        return { ...p, expired, valid: !p.revoked && !expired && active.has(p.organization) };
      }),
    });
  });

  /** A member log's checkpoints anchored on CheckpointAnchor, oldest first, from this node's index. */
  app.get('/anchors', async (c) => {
    const origin = c.req.query('origin');
    if (origin === undefined || origin === '') throw new CareLedgerError('ERR_INVALID_INPUT', 'give origin');
    return c.json({ origin, anchors: await deps.index.anchors(origin) });
  });

  /**
   * A patient's signed appointment of a healthcare proxy (EIP-712 Delegation: patient, delegate,
   * notBefore, notAfter, nonce); the proxy may then sign grants and revocations for the patient. The
   * delegate is a key for this patient only, which signs its DelegateKey acceptance (decision 0021).
   */
  app.post('/consent/delegations', async (c) => {
    await countRelay(c, 'chain');
    const { delegation, signature, delegateSignature, delegationId } = await parseSignedDelegation(
      await readJsonBody(c),
      domain(),
    );
    const entry = await deps.ledger.relayDelegation(delegation, signature, delegateSignature);
    const answer = await answerWrite(deps, entry, c.req.query('wait') === 'true', { delegationId });
    return c.json(answer.body, answer.status);
  });

  /**
   * Ends a proxy's appointment: the patient's signed Revoke naming the delegation id (only the patient,
   * not the proxy, signs it). ConsentRegistry emits DelegationRevoked; the proxy's grants stop holding.
   */
  app.post('/consent/delegations/:delegationId/revocations', async (c) => {
    await countRelay(c, 'chain');
    const delegationId = c.req.param('delegationId');
    const { revoke, signature } = await parseSignedRevoke(await readJsonBody(c), domain());
    if (revoke.grantId.toLowerCase() !== delegationId.toLowerCase()) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the signed revocation names another delegation', {
        details: { field: 'revoke.grantId' },
      });
    }
    const entry = await deps.ledger.revokeDelegation(revoke.grantId, revoke, signature);
    const answer = await answerWrite(deps, entry, c.req.query('wait') === 'true', { delegationId });
    return c.json(answer.body, answer.status);
  });

  app.get('/sync', async (c) => c.json(await deps.indexer.status()));

  /**
   * Which active members hold records of a patient (RecordLocator pointers), from the local index.
   * The path names only the patient's pseudonymous ledger address; nothing about them is on chain.
   */
  app.get('/locations/:patient', async (c) => {
    const text = c.req.param('patient');
    if (!isAddress(text, { strict: false })) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the patient must be a ledger address (0x + 40 hex)', {
        details: { field: 'patient' },
      });
    }
    const patient = getAddress(text);
    const [located, members] = await Promise.all([deps.index.recordLocations(patient), deps.index.members()]);
    const active = new Map(members.filter((m) => m.status === 'active').map((m) => [m.address, m]));
    return c.json({
      patient,
      members: located.flatMap((address) => {
        const member = active.get(address);
        if (member === undefined) return [];
        return [
          { address, name: member.name, fhirBaseUrl: member.fhirBaseUrl, role: parseMemberRole(member.role) },
        ];
      }),
    });
  });

  app.get('/transactions/:hash', async (c) => {
    const hash = c.req.param('hash');
    if (!isHex(hash) || hash.length !== 66)
      throw new CareLedgerError('ERR_INVALID_INPUT', 'not a transaction hash');
    const { outbox } = deps.ledger;
    const entry = await outbox.getByHash(hash as Hex);
    if (entry === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node did not send that transaction');
    return c.json(describeEntry(entry));
  });

  /**
   * Relays a patient-signed grant: the chain gets only its commitment; this node keeps the opening
   * (terms, salt, signature) and sends it to the other members that must enforce it.
   */
  app.post('/consent/grants', async (c) => {
    await countRelay(c, 'chain');
    const signed = await parseSignedGrant(await readJsonBody(c), domain(), delegates());
    await deps.openings.save(signed);
    const entry = await deps.ledger.relayGrant(signed.grant, signed.signature);
    const logged = await logRelay(
      deps,
      relayEntry('grant', signed.grantId, entry, deps.ledger.address, deps.now()),
    );
    const deliveries = (await deps.deliverOpening?.(signed)) ?? [];
    const answer = await answerWrite(deps, entry, c.req.query('wait') === 'true', {
      grantId: signed.grantId,
      ...logged,
      openingDelivered: deliveries.filter((d) => d.delivered).map((d) => d.member),
      openingUndelivered: deliveries.filter((d) => !d.delivered).map((d) => d.member),
    });
    return c.json(answer.body, answer.status);
  });

  /**
   * Receives the opening of a grant this node must enforce (decision 0013), from the relaying member,
   * the patient or the grantee. It is kept only if the patient's signature verifies over it and it
   * opens the commitment of the grant it names; once that grant is indexed, the commitment on chain
   * must match too. Anything else is refused with its reason, and nothing is stored.
   */
  app.post('/consent/openings', async (c) => {
    await countRelay(c, 'opening');
    const opening = await parseConsentOpening(await readJsonBody(c), domain(), delegates());
    const onChain = await deps.index.grant(opening.grantId);
    if (onChain !== undefined && evaluateOpening(onChain, opening) !== undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', "the terms do not open the grant's commitment", {
        details: { field: 'grant', reason: 'opening-mismatch' },
      });
    }
    await deps.openings.save(opening);
    return c.json({ grantId: opening.grantId, onLedger: onChain !== undefined }, 201);
  });

  app.post('/consent/revocations', async (c) => {
    await countRelay(c, 'chain');
    const signed = await parseSignedRevoke(await readJsonBody(c), domain(), delegates());
    const entry = await deps.ledger.relayRevoke(signed.revoke, signed.signature);
    const logged = await logRelay(
      deps,
      relayEntry('revoke', signed.revoke.grantId, entry, deps.ledger.address, deps.now()),
    );
    const answer = await answerWrite(deps, entry, c.req.query('wait') === 'true', {
      grantId: signed.revoke.grantId,
      ...logged,
    });
    return c.json(answer.body, answer.status);
  });

  app.get('/consent/grants', async (c) => {
    const patient = c.req.query('patient');
    const grantee = c.req.query('grantee');
    const grants = await deps.index.grants({
      ...(patient === undefined ? {} : { patient: queryAddress(patient, 'patient') }),
      ...(grantee === undefined ? {} : { grantee: queryAddress(grantee, 'grantee') }),
    });
    if (patient === undefined && grantee === undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'give patient or grantee');
    }
    return c.json({ grants: grants.map(describeGrant) });
  });

  app.get('/consent/grants/:grantId', async (c) => {
    const grant = await deps.index.grant(c.req.param('grantId') as Hex);
    if (grant === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such grant in this node’s index');
    return c.json(describeGrant(grant));
  });

  /** "May grantee G see category C for purpose P at time T for patient X", from the local index. */
  app.get('/consent/check', async (c) => {
    const category = c.req.query('category') ?? '';
    const purpose = c.req.query('purpose') ?? '';
    if (category === '' || purpose === '') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'give a category and a purpose of use', {
        details: { field: category === '' ? 'category' : 'purpose' },
      });
    }
    const atText = c.req.query('at');
    const at = atText === undefined ? Math.floor(deps.now() / 1000) : Number(atText);
    if (!Number.isSafeInteger(at) || at < 0)
      throw new CareLedgerError('ERR_INVALID_INPUT', 'at must be unix seconds');
    const categories = category.split(',').filter((s) => s !== '');
    const grantee = queryAddress(c.req.query('grantee'), 'grantee');
    // Issue 14 item 13: the opening this node holds must not tell a stranger what the commitment hides.
    if (namesSensitiveCategory(categories)) {
      if (deps.authenticate === undefined)
        throw new CareLedgerError(
          'ERR_FORBIDDEN',
          'access refused: sensitive categories are not answered here',
          {
            details: { reason: 'sensitive-category' },
          },
        );
      verifyConsentCheckCaller(await deps.authenticate(c), grantee);
    }
    const decision = await evaluateConsent(
      deps.index,
      deps.openings,
      {
        patient: queryAddress(c.req.query('patient'), 'patient'),
        grantee,
        category: encodeCategories(categories),
        purpose: encodePurposes(purpose.split(',').filter((s) => s !== '')),
        at,
      },
      deps.delegationInForce === undefined ? {} : { delegationInForce: deps.delegationInForce },
    );
    const sync = await deps.indexer.status();
    return c.json({ ...decision, indexedBlock: sync.indexedBlock });
  });

  return app;
}
