import { existsSync } from 'node:fs';
import { memberSecretFiles } from '../node/member-secrets.js';
import {
  fingerprintSecret,
  readHostSecretFile,
  type SecretFingerprintStore,
} from '../node/shared-secrets.js';
import type { DoctorCheck } from './doctor-check.js';

/**
 * `node doctor` (decision 0033): this host's secret files against the fingerprints the member's
 * database records, before a start that would refuse. Reads only: records nothing, creates nothing.
 * The keystore's key is compared at start (it needs the passphrase or the HSM).
 */
export async function checkSecretsAgainstMember(
  store: SecretFingerprintStore,
  dir: string,
): Promise<DoctorCheck[]> {
  const missing: string[] = [];
  const differ: string[] = [];
  let compared = 0;
  for (const file of memberSecretFiles(dir)) {
    if (file.name === 'keystore') continue;
    const known = await store.fingerprint(file.name);
    if (known === undefined) continue;
    compared++;
    const secret = readHostSecretFile(file.name, file.path, existsSync(file.path));
    if (secret.bytes === undefined) missing.push(file.path);
    else if (fingerprintSecret(file.name, secret.bytes) !== known) differ.push(file.path);
  }
  if (missing.length === 0 && differ.length === 0)
    return [
      {
        check: 'secrets',
        status: 'ok',
        message:
          compared === 0
            ? "the member's database records no secret yet (the first start records them)"
            : `${compared} secret file(s) match the member's database`,
      },
    ];
  return [
    {
      check: 'secrets',
      status: 'fail',
      message: [
        ...missing.map((path) => `${path} is missing on this host`),
        ...differ.map((path) => `${path} differs from the member's`),
      ].join('; '),
      fix: 'copy these files from a host of this member (the whole node folder after its first start), keep them 0600',
    },
  ];
}
