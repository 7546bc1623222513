/**
 * `POST /research/k-rounds/{round}` at the coordinator of a k round (decision 0041): another data
 * member sends its entries (keyed links and class keys, no PHI) with a member token; the answer is 200
 * with its own links to leave out once every data member has sent its entries, 202 while some have not.
 */
import { type Context, Hono } from 'hono';
import type { Address } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { readJsonBody } from '../../http/read-json-body.js';
import { parseKRoundEntries } from './k-round.js';
import type { DataMember } from './k-round-client.js';
import { coordinatorOf, type KRoundCoordinator } from './k-round-coordinator.js';

const ROUND_ID = /^[A-Za-z0-9-]{8,64}$/;
const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;

export interface KRoundRoutesDeps {
  readonly coordinator: KRoundCoordinator;
  readonly self: Address;
  readonly dataMembers: () => Promise<readonly DataMember[]>;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
}

export function createKRoundRoutes(deps: KRoundRoutesDeps): Hono {
  const app = new Hono();
  app.post('/k-rounds/:round', async (c) => {
    const context = await deps.authenticate(c);
    if (context.member === undefined)
      throw new CareLedgerError('ERR_FORBIDDEN', 'a k round takes entries from member nodes only', {
        details: { reason: 'not-a-member' },
      });
    const round = c.req.param('round');
    if (!ROUND_ID.test(round)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such round');
    const members = await deps.dataMembers();
    if (coordinatorOf(members.map((m) => m.address)).toLowerCase() !== deps.self.toLowerCase())
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this member does not coordinate k rounds', {
        details: { reason: 'not-the-coordinator' },
      });
    const body = await readJsonBody(c);
    if (typeof body.studyId !== 'string' || !STUDY_ID.test(body.studyId))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'studyId must be 0x and 64 hex digits', {
        details: { field: 'studyId' },
      });
    const entries = parseKRoundEntries(body.entries);
    const answer = await deps.coordinator.submit(
      round,
      body.studyId.toLowerCase() as `0x${string}`,
      context.member,
      entries,
    );
    return answer.state === 'decided'
      ? c.json({ decision: answer.decision, members: answer.members }, 200)
      : c.json({ missing: answer.missing }, 202);
  });
  return app;
}
