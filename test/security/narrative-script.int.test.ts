/**
 * Security review, session 29, finding F3: a narrative holding a script was stored and served as is,
 * to every member and viewer the record reaches (exchange, $everything, $export), most of which render
 * Narrative.div as HTML. R4's txt-1 allows only basic formatting: the write is now refused with the
 * element named, and nothing is stored. Real vault (SQLite, envelope encryption, transparency log).
 */
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
let patient: string;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  patient = (await vault.repo.create({ resourceType: 'Patient' } as Resource, clinician)).id as string;
});

afterAll(() => vault.close());

const condition = (div: string): Resource =>
  ({
    resourceType: 'Condition',
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${div}</div>` },
    code: { text: 'sinusitis' },
    subject: { reference: `Patient/${patient}` },
  }) as Resource;

describe('a narrative with a script is refused', () => {
  it.each([
    ['a script element', '<p>hi</p><script>alert(1)</script>'],
    ['an onerror image', '<img src="x" onerror="alert(1)"/>'],
    ['a javascript: link', '<a href="javascript:alert(1)">open</a>'],
  ])('%s: 400 naming Condition.text.div, nothing stored', async (_, div) => {
    const before = (
      await vault.repo.search('Condition', new URLSearchParams(), clinician, { handling: 'strict' })
    ).resources.length;
    await expect(vault.repo.create(condition(div), clinician)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { issues: [expect.objectContaining({ expression: ['Condition.text.div'] })] },
    });
    const after = (
      await vault.repo.search('Condition', new URLSearchParams(), clinician, { handling: 'strict' })
    ).resources.length;
    expect(after).toBe(before);
  });

  it('accepts a formatted narrative', async () => {
    const created = await vault.repo.create(condition('<p>Sinusitis, <b>acute</b></p>'), clinician);
    expect(created.id).toBeDefined();
  });
});
