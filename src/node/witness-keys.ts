import { CareLedgerError } from '../errors/index.js';
import {
  computeKeyId,
  formatVerifierKey,
  type NoteSigner,
  parseSignerKey,
  parseVerifierKey,
} from '../log/index.js';

// DER prefix of an Ed25519 PKCS#8 private key (RFC 8410 §7); the 32-byte seed follows it.
const PKCS8_PREFIX_LENGTH = 16;

/**
 * A member's witness name, derived from its log origin. Each node witnesses the others' logs with
 * the same Ed25519 key it signs its own checkpoints with: the ledger publishes one key per member,
 * and the two uses cannot be confused because C2SP domain-separates them (a cosignature/v1 signs
 * "cosignature/v1\ntime …\n" + the checkpoint, with key type 0x04 in its key ID; a checkpoint
 * signature signs the note text, whose first line is an origin, never "cosignature/v1").
 * See docs/decisions/0003-one-key-for-log-and-witness.md.
 */
export function witnessName(logOrigin: string): string {
  return `${logOrigin}/witness`;
}

/** The cosignature/v1 signer key text for this node's witness, from its log signer key text. */
export function deriveWitnessSignerKey(logSignerKey: string, logOrigin: string): string {
  const signer: NoteSigner = parseSignerKey(logSignerKey);
  const der = signer.privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = der.subarray(PKCS8_PREFIX_LENGTH);
  const name = witnessName(logOrigin);
  const keyId = Buffer.from(computeKeyId(name, 'cosignature/v1', signer.publicKey)).toString('hex');
  return `PRIVATE+KEY+${name}+${keyId}+${Buffer.concat([Uint8Array.of(0x04), seed]).toString('base64')}`;
}

/** A member's witness verifier key, from the log verifier key the ledger publishes for it. */
export function deriveWitnessVerifierKey(logVerifierKey: string, logOrigin: string): string {
  const verifier = parseVerifierKey(logVerifierKey);
  if (verifier.type !== 'ed25519') {
    throw new CareLedgerError('ERR_CONFIG', 'a member log key must be an Ed25519 signed-note key');
  }
  return formatVerifierKey(witnessName(logOrigin), 'cosignature/v1', verifier.publicKey);
}
