import type { Address } from 'viem';

/**
 * What the access policy asks of the ledger's consent: declared here, by the one who asks, so that
 * access depends on no consent internals (src/consent's `evaluateConsent` answers it).
 */
export interface ConsentQuery {
  readonly patient: Address;
  readonly grantee: Address;
  /** Bitmask (usually one bit) of data categories, see src/ledger/codes.ts. */
  readonly category: bigint;
  /** Bitmask (usually one bit) of purposes of use. */
  readonly purpose: bigint;
  /** Unix seconds. */
  readonly at: number;
}

export type ConsentDecision =
  | { readonly allowed: true; readonly grantId: `0x${string}`; readonly via: 'grantee' | 'organization' }
  | {
      readonly allowed: false;
      readonly reason:
        | 'no-grant'
        | 'revoked'
        | 'not-yet-valid'
        | 'expired'
        | 'not-covered'
        /** Decision 0013: the grant's terms are on chain only as a commitment, and this node holds no opening of it. */
        | 'opening-missing'
        /** The opening this node holds does not match the grant's on-chain commitment. */
        | 'opening-mismatch'
        /** Decision 0021: a proxy or guardian signed the grant, and their delegation is revoked or has ended. */
        | 'delegation-not-in-force';
    };

/** Consent decisions from the node's ledger index (`evaluateConsent` bound to it). */
export type ConsentCheck = (query: ConsentQuery) => Promise<ConsentDecision>;
