import type { Address } from 'viem';
import { parseRequester, SENSITIVE_CATEGORIES } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { DataCategory } from '../../ledger/index.js';

/**
 * Who may ask `/ledger/consent/check` about a sensitive category (HIV, substance use, ...). The chain
 * keeps a grant's terms only as a salted commitment (decision 0013) so that nobody can tell a grant of
 * "HIV" from any other; a node that holds the opening would undo that for anyone who asks "does the
 * grant from patient X to G cover HIV?". So a question naming a sensitive category is answered only to
 * the node's own staff (the custodian, which enforces the grant) and to the grantee itself (another
 * member, authenticated as that member); anyone else is refused without an answer. Ordinary
 * categories, whose terms may be readable (ARCHITECTURE §2), stay open as before.
 */
export function namesSensitiveCategory(categories: readonly string[]): boolean {
  return categories.some((c) => SENSITIVE_CATEGORIES.has(c as DataCategory));
}

/** Throws ERR_FORBIDDEN unless the requester may learn a sensitive category's consent for `grantee`. */
export function verifyConsentCheckCaller(context: AccessContext, grantee: Address): void {
  const requester = parseRequester(context);
  if (requester.kind === 'staff') return;
  if (requester.kind === 'member' && requester.address.toLowerCase() === grantee.toLowerCase()) return;
  throw new CareLedgerError(
    'ERR_FORBIDDEN',
    'access refused: a consent question naming a sensitive category is answered only to this node’s staff and the grantee',
    { details: { reason: 'sensitive-category' } },
  );
}
