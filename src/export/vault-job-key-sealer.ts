import { NODE_KEY_PATIENT_ID, type RecordRef, type SealedRecord, type VaultCrypto } from '../vault/index.js';
import type { JobKeySealer } from './export-job.js';

function jobKeyRef(jobId: string): RecordRef {
  // The associated data binds the sealed key to its job: a key row copied to another job fails to open.
  return { resourceType: 'ExportJobKey', id: jobId, versionId: '1', patientId: NODE_KEY_PATIENT_ID };
}

/** Export file keys sealed under the node's own data key (envelope encryption, as records are). */
export function createVaultJobKeySealer(crypto: Pick<VaultCrypto, 'encrypt' | 'decrypt'>): JobKeySealer {
  return {
    async seal(jobId, key) {
      const sealed = await crypto.encrypt(jobKeyRef(jobId), key);
      return JSON.stringify({
        f: sealed.format,
        k: sealed.keyVersion,
        n: Buffer.from(sealed.nonce).toString('base64'),
        c: Buffer.from(sealed.ciphertext).toString('base64'),
      });
    },
    async open(jobId, text) {
      const s = JSON.parse(text) as { f: SealedRecord['format']; k: number; n: string; c: string };
      return crypto.decrypt(jobKeyRef(jobId), {
        format: s.f,
        keyVersion: s.k,
        nonce: Buffer.from(s.n, 'base64'),
        ciphertext: Buffer.from(s.c, 'base64'),
      });
    },
  };
}
