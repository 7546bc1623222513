/**
 * The node answers consent queries from its index of the chain, which holds a grant (or its
 * revocation) once its block is mined and read, about a second after the transaction: a page that
 * redraws from the index right after sending must wait for it first, bounded.
 */
import { getJson } from './api.js';

interface IndexedGrant {
  readonly grantId: string;
  readonly revokedAt: number | null;
}

/** Waits (up to about 10 s) until the node's index shows the grant, or its revocation when `revoked`. */
export async function waitForLedger(address: string, grantId: string, revoked = false): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const { grants } = await getJson<{ grants: IndexedGrant[] }>(`/ledger/consent/grants?patient=${address}`);
    const grant = grants.find((g) => g.grantId.toLowerCase() === grantId.toLowerCase());
    if (grant !== undefined && (!revoked || grant.revokedAt !== null)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
