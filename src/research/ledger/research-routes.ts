import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import type { ConsentOpeningStore } from '../../consent/consent-opening.js';
import { CareLedgerError } from '../../errors/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import { readJsonBody } from '../../http/read-json-body.js';
import { requireOperatorToken } from '../../http/require-operator-token.js';
import { DATA_CATEGORIES, MEMBER_ROLES } from '../../ledger/codes.js';
import { hashDeidProfile } from '../release/release-manifest.js';
import { SAFE_HARBOR_PROFILE_JSON } from '../safe-harbor-profile.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';

const SAFE_HARBOR_PROFILE_HASH = hashDeidProfile(SAFE_HARBOR_PROFILE_JSON).toLowerCase();

import { studyCreditAddress } from './credit-address.js';
import { evaluateFeasibility, parseFeasibilityQuery, type ResearchSearch } from './feasibility.js';
import type { IndexedStudy, ResearchIndex } from './research-index.js';
import { parseBytes32, type ResearchLedger, type StudyProposal } from './research-ledger.js';
import {
  hashStudyProtocol,
  parseStudyProtocol,
  type StudyProtocol,
  type StudyProtocols,
} from './study-protocol.js';

/** The smallest k a feasibility question may ask for when it names no study. */
export const MIN_FEASIBILITY_K = 5;

export interface ResearchRouteDeps {
  readonly ledger: Pick<ResearchLedger, 'propose' | 'vote' | 'open' | 'close'>;
  readonly index: Pick<ResearchIndex, 'study' | 'list' | 'creditsOf' | 'sync'>;
  /** This member's ledger address: closing its own study, or voting to close another's. */
  readonly self: Address;
  readonly adminToken: string;
  readonly authenticate: Authenticate;
  /** An active member's role number, or undefined (from the node's chain index). */
  readonly memberRole: (address: Address) => Promise<number | undefined>;
  /** The vault searched as a research grantee (consent-checked and audited). */
  readonly search: ResearchSearch;
  /** The ledger address on the authenticated patient's own Patient record (read as them). */
  readonly patientAddress: (context: AccessContext) => Promise<Address | undefined>;
  readonly openings: Pick<ConsentOpeningStore, 'load' | 'grantIdsOf'>;
  /** Appends an entry to the node's transparency log; resolves once durable. */
  readonly audit: (entry: Uint8Array) => Promise<{ index: number }>;
  /** Protocol documents (title, summary) checked against the studies' protocol hashes. */
  readonly protocols?: StudyProtocols;
  readonly now?: () => Date;
}

/** What a study is, and what a patient joining it would share: the public answer of GET. */
export function describeStudy(study: IndexedStudy, now: Date, protocol?: StudyProtocol) {
  const seconds = Math.floor(now.getTime() / 1000);
  return {
    id: study.id,
    /** Title and summary whose hash is the on-chain protocolHash; null when no member serves it. */
    protocol: protocol ?? null,
    status: study.status,
    researcher: study.researcher,
    protocolHash: study.protocolHash,
    profileHash: study.profileHash,
    period: {
      notBefore: new Date(study.notBefore * 1000).toISOString(),
      notAfter: new Date(study.notAfter * 1000).toISOString(),
      inPeriod: study.notBefore <= seconds && seconds < study.notAfter,
    },
    k: study.k,
    categories: study.categories,
    resourceTypes: study.resourceTypes,
    ethicsBoards: study.ethicsBoards,
    approvals: { by: study.approvedBy, needed: study.approvalsNeeded },
    closeVotes: study.closeVotes,
    releases: study.releases.map((r) => ({
      manifestHash: r.manifestHash,
      member: r.member,
      consentBlock: r.consentBlock.toString(),
      records: r.records,
      suppressed: r.suppressed,
      contributors: r.contributors,
      blockNumber: r.blockNumber,
      txHash: r.txHash,
    })),
    /** How a patient joins: an EIP-712 consent grant with these terms (decision 0024). */
    join: {
      grantee: studyGrantee(study.id),
      purpose: 'HRESCH',
      categories: study.categories,
      generalResearchGrantee: GENERAL_RESEARCH_ADDRESS,
    },
    patientWouldShare: {
      categories: study.categories.map((c) => ({ code: c, display: DATA_CATEGORIES[c].display })),
      resourceTypes: study.resourceTypes,
      form: `${
        study.profileHash.toLowerCase() === SAFE_HARBOR_PROFILE_HASH
          ? 'de-identified under HIPAA Safe Harbor: no names, contact details or identifiers; dates kept to the year, ages over 89 grouped'
          : `de-identified under the study's approved profile ${study.profileHash}`
      }; released only in groups of at least ${study.k} alike`,
      until: new Date(study.notAfter * 1000).toISOString(),
    },
  };
}

function studyOf(deps: ResearchRouteDeps, id: string): IndexedStudy {
  const study = deps.index.study(parseBytes32(id, 'id'));
  if (study === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such study in this node’s index');
  return study;
}

function parseProposal(body: Record<string, unknown>): StudyProposal {
  const invalid = (field: string, message: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', message, { details: { field } });
  const list = (field: string): string[] => {
    const value = body[field] ?? [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw invalid(field, `${field} must be a list of strings`);
    return value as string[];
  };
  const time = (field: string): number => {
    const value = body[field];
    const parsed = typeof value === 'string' ? Date.parse(value) / 1000 : Number.NaN;
    if (!Number.isFinite(parsed)) throw invalid(field, `${field} must be an ISO 8601 date-time`);
    return Math.floor(parsed);
  };
  const categories = list('categories');
  for (const c of categories)
    if (!Object.hasOwn(DATA_CATEGORIES, c)) throw invalid('categories', `unknown category ${c}`);
  const boards = list('ethicsBoards');
  for (const b of boards)
    if (!isAddress(b, { strict: false })) throw invalid('ethicsBoards', 'ethicsBoards are member addresses');
  if (!Number.isSafeInteger(body.k)) throw invalid('k', 'k must be an integer');
  return {
    id: parseBytes32(body.id, 'id'),
    protocolHash: parseBytes32(body.protocolHash, 'protocolHash'),
    profileHash: parseBytes32(body.profileHash, 'profileHash'),
    categories: categories as StudyProposal['categories'],
    resourceTypes: list('resourceTypes'),
    notBefore: time('notBefore'),
    notAfter: time('notAfter'),
    k: body.k as number,
    ethicsBoards: boards.map((b) => getAddress(b)),
  };
}

/** `Bearer <operator token>`, compared in constant time. */
function isOperator(c: Context, adminToken: string): boolean {
  const expected = Buffer.from(`Bearer ${adminToken}`);
  const given = Buffer.from(c.req.header('authorization') ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `/admin/research`: the operator's ledger writes (propose, approve, open, close), each answered once
 * mined, with the study as the index then holds it.
 */
export function createResearchAdminRoutes(deps: ResearchRouteDeps): Hono {
  const now = deps.now ?? (() => new Date());
  const app = new Hono();
  app.use('*', requireOperatorToken(deps.adminToken));
  const answer = async (
    c: Context,
    id: Hex,
    write: Promise<{ blockNumber: number | null }>,
    status: 200 | 201,
  ) => {
    const { blockNumber } = await write;
    await deps.index.sync();
    const study = deps.index.study(id);
    const described =
      study === undefined ? { id } : describeStudy(study, now(), await deps.protocols?.forStudy(study));
    return c.json({ ...described, blockNumber }, status);
  };
  app.post('/studies', async (c) => {
    const body = await readJsonBody(c);
    if (body.protocol !== undefined) {
      // The document's own hash is the fingerprint on chain; a protocolHash given beside it must agree.
      const protocol = parseStudyProtocol(body.protocol);
      const hash = hashStudyProtocol(protocol);
      if (body.protocolHash !== undefined && String(body.protocolHash).toLowerCase() !== hash)
        throw new CareLedgerError('ERR_INVALID_INPUT', 'protocolHash is not the hash of the protocol given', {
          details: { field: 'protocolHash' },
        });
      if (deps.protocols === undefined)
        throw new CareLedgerError('ERR_CONFIG', 'this node keeps no study protocols');
      await deps.protocols.save(protocol);
      body.protocolHash = hash;
    }
    const proposal = parseProposal(body);
    return answer(c, proposal.id, deps.ledger.propose(proposal), 201);
  });
  app.post('/studies/:id/approvals', async (c) => {
    const id = parseBytes32(c.req.param('id'), 'id');
    return answer(c, id, deps.ledger.vote(id), 200);
  });
  app.post('/studies/:id/open', async (c) => {
    const id = parseBytes32(c.req.param('id'), 'id');
    return answer(c, id, deps.ledger.open(id), 200);
  });
  app.post('/studies/:id/close', async (c) => {
    const study = studyOf(deps, c.req.param('id'));
    const as = study.researcher.toLowerCase() === deps.self.toLowerCase() ? 'researcher' : 'vote';
    return answer(c, study.id, deps.ledger.close(study.id, as), 200);
  });
  return app;
}

/**
 * `/research`: the consortium's studies from the node's index (public: hashes, categories and periods,
 * no patient data), a patient's own credits, and feasibility counts for a research member.
 */
export function createResearchRoutes(deps: ResearchRouteDeps): Hono {
  const now = deps.now ?? (() => new Date());
  const app = new Hono();

  const described = async (study: IndexedStudy) =>
    describeStudy(study, now(), await deps.protocols?.forStudy(study));
  app.get('/studies', async (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !['proposed', 'approved', 'open', 'closed'].includes(status))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'status is proposed, approved, open or closed');
    const studies = deps.index.list(status === undefined ? {} : { status: status as IndexedStudy['status'] });
    return c.json({ studies: await Promise.all(studies.map(described)) });
  });
  app.get('/studies/:id', async (c) => c.json(await described(studyOf(deps, c.req.param('id')))));
  /** The protocol document (public, no PHI), so other members can take it and check it against the hash. */
  app.get('/studies/:id/protocol', async (c) => {
    const protocol = await deps.protocols?.forStudy(studyOf(deps, c.req.param('id')));
    if (protocol === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node holds no protocol document for the study');
    return c.json(protocol);
  });

  /** The signed-in patient's credits, per study: derived from the openings of their research grants. */
  app.get('/credits', async (c) => {
    const context = await deps.authenticate(c);
    if (!context.who.startsWith('Patient/'))
      throw new CareLedgerError('ERR_FORBIDDEN', 'credits are shown to the patient they belong to');
    const patient = await deps.patientAddress(context);
    if (patient === undefined) return c.json({ patient: null, total: '0', studies: [] });
    const studies = [];
    let total = 0n;
    for (const grantId of await deps.openings.grantIdsOf(patient)) {
      const opening = await deps.openings.load(grantId);
      if (opening === undefined) continue;
      const grantee = opening.grant.grantee.toLowerCase();
      const general = grantee === GENERAL_RESEARCH_ADDRESS.toLowerCase();
      for (const study of deps.index.list()) {
        if (!general && grantee !== studyGrantee(study.id).toLowerCase()) continue;
        const creditAddress = studyCreditAddress(study.id, opening.grant.salt);
        const credits = deps.index.creditsOf(creditAddress);
        if (!general || credits > 0n) {
          studies.push({
            studyId: study.id,
            status: study.status,
            grantId,
            creditAddress,
            credits: credits.toString(),
          });
          total += credits;
        }
      }
    }
    return c.json({ patient, total: total.toString(), studies });
  });

  /** Counts only, small cells suppressed (feasibility-counts.ts); the operator or a research member's system. */
  app.post('/feasibility', async (c) => {
    let who = 'Device/node-operator';
    if (!isOperator(c, deps.adminToken)) {
      const context = await deps.authenticate(c);
      const role = context.member === undefined ? undefined : await deps.memberRole(context.member);
      if (role !== MEMBER_ROLES.research)
        throw new CareLedgerError('ERR_FORBIDDEN', 'feasibility counts are for research members', {
          details: { reason: 'not-research-member' },
        });
      who = context.who;
    }
    const body = await readJsonBody(c);
    const named =
      typeof body.studyId === 'string' ? deps.index.study(parseBytes32(body.studyId, 'studyId')) : undefined;
    if (body.studyId !== undefined && named === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such study in this node’s index');
    const query = parseFeasibilityQuery(body, Math.max(named?.k ?? MIN_FEASIBILITY_K, 2));
    const result = await evaluateFeasibility(deps.search, query, now());
    // Audited: who asked what (criteria are codes, never a patient), and how many cells it released.
    await deps.audit(
      new TextEncoder().encode(
        JSON.stringify({
          type: 'research-feasibility',
          requester: who,
          query,
          total: result.total,
          cells: result.cells.length,
          time: now().toISOString(),
        }),
      ),
    );
    return c.json(result);
  });
  return app;
}
