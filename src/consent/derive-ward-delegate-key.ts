import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';

/** secp256k1 group order (SEC 2 §2.4.1). */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const INFO = new TextEncoder().encode('careledger/consent/ward-delegate-key/v1');

/**
 * The key a proxy or guardian signs a ward's consent with (decisions 0013, 0021): derived from their
 * own key and the ward's ledger address (HKDF-SHA256, RFC 5869), so each ward sees a different delegate
 * address. The delegation registry must check a delegate's signature on chain, so the delegate address
 * is public beside the ward's; with a key per ward, that address links to nothing else: not to the
 * guardian's own patient address, not to their other wards. ConsentRegistry enforces the "per ward":
 * a delegate key signs its own acceptance and serves one ward only (`createWardDelegate`). Deterministic,
 * so the guardian needs no new secret to keep. Candidates outside [1, n) are skipped (probability about
 * 2^-128).
 */
export function deriveWardDelegateKey(delegateKey: Hex, ward: Address): Hex {
  const ikm = hexToBytes(delegateKey);
  for (let counter = 0; counter < 256; counter++) {
    const salt = new TextEncoder().encode(`${ward.toLowerCase()}#${counter}`);
    const candidate = hkdf(sha256, ikm, salt, INFO, 32);
    const k = BigInt(bytesToHex(candidate));
    if (k > 0n && k < N) return bytesToHex(candidate);
  }
  throw new Error('no valid key derived');
}
