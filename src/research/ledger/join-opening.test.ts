import { type Address, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { ConsentOpening } from '../../consent/consent-opening.js';
import { openingRecipients, type RecipientIndex } from '../../consent/deliver-opening.js';
import { encodeCategories, encodePurposes } from '../../ledger/codes.js';
import type { IndexedMember } from '../../sync/index.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';

const address = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address;
const member = (n: number, status: IndexedMember['status'] = 'active'): IndexedMember => ({
  address: address(n),
  name: `member ${n}`,
  role: n === 5 ? 5 : 1,
  fhirBaseUrl: `http://member-${n}.test/fhir`,
  logOrigin: `member-${n}.test/log`,
  logVerifierKey: '',
  encryptionPublicKey: '0x',
  status,
  admittedBlock: 1,
});
const PATIENT = address(0xabc);

/** Members 1–5; 2, 3 and 4 announced records of the patient (4 has left since); 5 is the research member. */
const index: RecipientIndex = {
  members: async () => [member(1), member(2), member(3), member(4, 'removed'), member(5)],
  practitioner: async () => undefined,
  recordLocations: async (patient) => (patient === PATIENT ? [address(2), address(3), address(4)] : []),
};

function joining(grantee: Address): ConsentOpening {
  return {
    grantId: keccak256(toHex(grantee)),
    signature: '0x',
    grant: {
      patient: PATIENT,
      grantee,
      categories: encodeCategories(['demographics', 'laboratory']),
      purposes: encodePurposes(['HRESCH']),
      salt: keccak256(toHex('salt')),
      notBefore: 0n,
      notAfter: 1n,
      nonce: 0n,
    },
  };
}

describe('the opening of a research grant', () => {
  it('goes to every active member holding the patient’s records, and to no one for the study itself', async () => {
    for (const grantee of [studyGrantee(keccak256(toHex('study'))), GENERAL_RESEARCH_ADDRESS]) {
      const recipients = await openingRecipients(index, joining(grantee), address(1));
      expect(recipients.map((r) => r.address)).toEqual([address(2), address(3)]);
    }
  });
});
