/** Names for the accounting of disclosures: members and their practitioners from the ledger index. */
import type { Address } from 'viem';
import type { NameOf } from './disclosure-accounting.js';

export interface RecipientDirectory {
  readonly memberName: (address: Address) => Promise<string | undefined>;
  /** The member organization a ledger-attested practitioner belongs to. */
  readonly practitionerOrganization: (address: Address) => Promise<Address | undefined>;
  /** This node's organization, for its own staff. */
  readonly organization: string;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export function createRecipientNames(directory: RecipientDirectory): NameOf {
  return async (reference) => {
    const [type = '', id = ''] = reference.split('/');
    if (type === 'Organization' && ADDRESS.test(id)) return directory.memberName(id as Address);
    if (type === 'Practitioner' && ADDRESS.test(id)) {
      const organization = await directory.practitionerOrganization(id as Address);
      const name = organization === undefined ? undefined : await directory.memberName(organization);
      return name === undefined ? undefined : `a clinician at ${name}`;
    }
    if (type === 'Practitioner') return `a member of staff at ${directory.organization}`;
    return undefined;
  };
}
