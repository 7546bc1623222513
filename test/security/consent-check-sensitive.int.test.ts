/**
 * Security review (issue 14 item 13): the chain keeps a grant's terms only as a salted commitment, but
 * `/ledger/consent/check` answered anyone "does patient X's grant to G cover HIV?" from the opening the
 * node holds, undoing the commitment. A question naming a sensitive category is now answered only to
 * the node's staff and to the grantee; ordinary categories stay open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const PATIENT = '0x1111111111111111111111111111111111111111';
const GRANTEE = '0x00000000000000000000000000000000000000bB';
const OTHER = '0x00000000000000000000000000000000000000cC';

let solo: SoloNode;

const check = (category: string, headers: Record<string, string> = {}) =>
  solo.node.app.request(
    `/ledger/consent/check?patient=${PATIENT}&grantee=${GRANTEE}&category=${category}&purpose=TREAT`,
    { headers },
  );

beforeAll(async () => {
  solo = await startSoloNode();
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

describe('/ledger/consent/check and sensitive categories', () => {
  it('answers an ordinary category to anyone, as before', async () => {
    const answer = await check('laboratory');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ allowed: false, reason: 'no-grant' });
  });

  it('refuses a stranger, and another member, a question naming a sensitive category', async () => {
    expect((await check('hiv')).status).toBe(401);
    expect((await check('laboratory,hiv')).status).toBe(401);
    const other = await check('hiv', { 'x-careledger-identity': `Organization/${OTHER}` });
    expect(other.status).toBe(403);
    expect(await other.text()).toContain('sensitive category');
    // A patient is not the custodian: their own grants are shown to them by the portal, not here.
    expect((await check('hiv', { 'x-careledger-identity': 'Patient/p-1' })).status).toBe(403);
  });

  it('answers the node’s staff and the grantee itself', async () => {
    const staff = await check('hiv', {
      'x-careledger-identity': 'Practitioner/po-1',
      'x-careledger-roles': 'privacy-officer',
    });
    expect(staff.status).toBe(200);
    const grantee = await check('hiv', { 'x-careledger-identity': `Organization/${GRANTEE}` });
    expect(grantee.status).toBe(200);
    expect(await grantee.json()).toMatchObject({ allowed: false, reason: 'no-grant' });
  });
});
