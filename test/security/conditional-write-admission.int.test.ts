/**
 * Security review, session 29, finding F4: a conditional DELETE or PATCH searched before it asked
 * whether the requester may delete or write that type at all, so a patient whose token reads only
 * (`patient/*.rs`) got 204 or 404 by what the criteria matched (and 403 only on a match), a weak
 * oracle on what the search finds. The interaction is now admitted first, as a plain DELETE or PATCH
 * is: 403 whatever matches. Real vault (SQLite, envelope encryption, transparency log), real policy.
 */
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { parseScopes } from '../../src/smart/index.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
let asMaria: AccessContext;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  const create = async (resource: Resource) => (await vault.repo.create(resource, clinician)).id as string;
  const maria = await create({ resourceType: 'Patient', name: [{ family: 'Rivera' }] } as Resource);
  const vera = await create({ resourceType: 'Patient', name: [{ family: 'Victim' }] } as Resource);
  await create({
    resourceType: 'Condition',
    code: { text: 'sinusitis' },
    subject: { reference: `Patient/${vera}` },
  } as Resource);
  asMaria = { who: `Patient/${maria}`, purpose: 'PATRQT', scopes: parseScopes('patient/*.rs') };
});

afterAll(() => vault.close());

describe('conditional writes are admitted before their search', () => {
  it('refuses a read-only patient a conditional delete whether or not anything matches', async () => {
    for (const criteria of ['name=Victim', 'name=Rivera', 'name=Nobody']) {
      await expect(
        vault.repo.conditionalDelete('Patient', new URLSearchParams(criteria), asMaria),
      ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    }
  });

  it('refuses a read-only patient a conditional patch whether or not anything matches', async () => {
    for (const criteria of ['name=Victim', 'name=Rivera', 'name=Nobody']) {
      await expect(
        vault.repo.conditionalPatch('Patient', new URLSearchParams(criteria), (r) => r, asMaria),
      ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    }
  });

  it('still lets a clinician delete by condition', async () => {
    expect(
      await vault.repo.conditionalDelete('Condition', new URLSearchParams('code:text=sinusitis'), clinician),
    ).toBe(1);
  });
});
