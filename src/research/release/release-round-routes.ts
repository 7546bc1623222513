/**
 * `/admin/research` at the research member (operator token, as its other ledger writes): start a
 * release round of a study at every data member, follow it, relay a member's released file, and read
 * a manifest hash's anchor from ResearchRegistry, so the portal can check a download against the chain
 * with hashes it computes itself (decision 0041).
 */
import { Hono } from 'hono';
import { getAddress, type Hex, isAddress } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { readJsonBody } from '../../http/read-json-body.js';
import { requireOperatorToken } from '../../http/require-operator-token.js';
import type { AnchoredRelease } from './release-ports.js';
import type { ReleaseRound, ReleaseRounds } from './release-rounds.js';

const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
const FILE_NAME = /^[A-Za-z]{1,64}(-[0-9]{1,6})?\.ndjson$/;

export interface ReleaseRoundRoutesDeps {
  readonly rounds: ReleaseRounds;
  readonly adminToken: string;
  readonly release: (studyId: Hex, manifestHash: Hex) => Promise<AnchoredRelease | undefined>;
}

/** The round as the portal shows it: each member's state, progress, manifest and its hash. */
function view(round: ReleaseRound) {
  return {
    id: round.id,
    studyId: round.studyId,
    startedAt: round.startedAt,
    state: round.members.some((m) => m.state === 'failed')
      ? 'failed'
      : round.members.every((m) => m.state === 'done')
        ? 'done'
        : 'running',
    members: round.members.map(({ statusUrl: _url, ...member }) => member),
  };
}

export function createReleaseRoundRoutes(deps: ReleaseRoundRoutesDeps): Hono {
  const app = new Hono();
  app.use('*', requireOperatorToken(deps.adminToken));
  app.post('/releases', async (c) => {
    const body = await readJsonBody(c);
    if (typeof body.studyId !== 'string' || !STUDY_ID.test(body.studyId))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'studyId must be 0x and 64 hex digits', {
        details: { field: 'studyId' },
      });
    const round = await deps.rounds.start(body.studyId.toLowerCase() as Hex);
    return c.json(view(round), 202);
  });
  app.get('/releases', (c) => c.json({ rounds: deps.rounds.list().map(view) }));
  app.get('/releases/:round', async (c) => c.json(view(await deps.rounds.refresh(c.req.param('round')))));
  app.get('/releases/:round/files/:member/:file', async (c) => {
    const member = c.req.param('member');
    const file = c.req.param('file');
    if (!isAddress(member, { strict: false }) || !FILE_NAME.test(file))
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such file in this round');
    const body = await deps.rounds.openFile(c.req.param('round'), getAddress(member), file);
    return c.body(body, 200, { 'Content-Type': 'application/fhir+ndjson', 'Cache-Control': 'no-store' });
  });
  app.get('/anchors/:study/:hash', async (c) => {
    const study = c.req.param('study');
    const hash = c.req.param('hash').toLowerCase();
    if (!STUDY_ID.test(study) || !HASH.test(hash))
      throw new CareLedgerError('ERR_NOT_FOUND', 'no release with this manifest hash');
    const anchored = await deps.release(study.toLowerCase() as Hex, hash as Hex);
    if (anchored === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no release with this manifest hash on chain', {
        details: { reason: 'not-anchored' },
      });
    return c.json({
      studyId: anchored.studyId,
      manifestHash: anchored.manifestHash,
      profileHash: anchored.profileHash,
      consentBlock: anchored.consentBlock.toString(),
      records: anchored.records,
      suppressed: anchored.suppressed,
      ...(anchored.member === undefined ? {} : { member: anchored.member }),
      ...(anchored.block === undefined ? {} : { block: anchored.block.toString() }),
    });
  });
  return app;
}
