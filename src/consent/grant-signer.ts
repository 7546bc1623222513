import { type Address, type Hex, recoverAddress } from 'viem';
import { LruCache } from '../cache/index.js';
import type { ConsentOpening } from './consent-opening.js';

/**
 * Whether `delegate` may sign consent for `patient` at `at` (Unix seconds): a proxy or guardian whose
 * delegation is on the ledger, unrevoked and in its window (ConsentRegistry.isDelegate, decision 0021).
 */
export type DelegationInForce = (patient: Address, delegate: Address, at: number) => Promise<boolean>;

/** Signers by grant id and signature: one recovery took 8 ms on a loaded 2-core machine, and a grant's signer never changes. */
const signers = new LruCache<Address>({ maxEntries: 10_000 });

/**
 * Who signed a grant: the address its signature recovers to over the grant id, which is the EIP-712
 * digest of the grant (so this holds only for an opening `evaluateOpening` found to match its grant).
 * The patient, or a delegate key of the patient's.
 */
export async function recoverGrantSigner(opening: ConsentOpening): Promise<Address> {
  const key = `${opening.grantId.toLowerCase()}|${opening.signature.toLowerCase()}`;
  const known = signers.get(key);
  if (known !== undefined) return known;
  const signer = await recoverAddress({ hash: opening.grantId as Hex, signature: opening.signature });
  signers.set(key, signer);
  return signer;
}
