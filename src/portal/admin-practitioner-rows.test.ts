import { describe, expect, it } from 'vitest';
import { practitionerRows } from './app/admin-practitioner-rows.js';

const HOSPITAL = '0x00000000000000000000000000000000000000a1';
const GREY = '0x7cB4000000000000000000000000000000000001';
const OTHER = '0x7cB4000000000000000000000000000000000002';
const attested = (address: string, code: string) => ({
  address,
  organization: HOSPITAL,
  qualificationCode: code,
  credentialHash: `0x${'ab'.repeat(32)}`,
  expiresAt: 1_900_000_000,
  revoked: false,
  expired: false,
  valid: true,
});
const members = new Map([[HOSPITAL, 'Riverside General Hospital']]);

describe('the administration page names practitioners (issue 22)', () => {
  it('shows the name from the node’s directory and the attesting member by name, the address as a detail', () => {
    const [row] = practitionerRows([attested(GREY, 'MD')], {
      members,
      directory: [
        {
          address: GREY.toLowerCase(),
          practitioner: 'Practitioner/dr-grey',
          name: 'Dr Meredith Grey',
          username: 'dr.grey',
          disabled: false,
        },
      ],
    });
    expect(row).toMatchObject({
      name: 'Dr Meredith Grey',
      named: true,
      organization: 'Riverside General Hospital',
      qualification: 'Doctor of medicine (MD)',
      status: 'Valid',
      address: GREY,
    });
  });

  it('says why there is no name, never the address in its place', () => {
    const ledger = [attested(GREY, 'MD'), attested(OTHER, 'RN')];
    expect(practitionerRows(ledger, { members, directory: undefined }).map((r) => r.name)).toEqual([
      'Name shown with the admin token',
      'Name shown with the admin token',
    ]);
    const rows = practitionerRows(ledger, {
      members,
      directory: [
        { address: GREY, practitioner: 'Practitioner/x', name: null, username: 'x', disabled: true },
      ],
    });
    expect(rows.map((r) => r.name)).toEqual([
      'Account x (no name on its Practitioner record)',
      'No account at this node',
    ]);
    expect(rows[0]?.status).toBe('Valid (account disabled)');
    for (const r of rows) expect(r.name).not.toContain('0x');
  });

  it('says revoked, expired and an inactive member in words', () => {
    const rows = practitionerRows(
      [
        { ...attested(GREY, 'MD'), revoked: true, valid: false },
        { ...attested(OTHER, 'MD'), expired: true, valid: false },
        { ...attested('0x03', 'MD'), valid: false, organization: '0xdead' },
      ],
      { members, directory: [] },
    );
    expect(rows.map((r) => r.status).sort()).toEqual([
      'Expired',
      'Not valid (its member is not active)',
      'Revoked',
    ]);
    expect(rows.find((r) => r.address === '0x03')?.organization).toBe('A member not in the directory');
  });
});
