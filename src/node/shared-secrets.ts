import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { CareLedgerError } from '../errors/index.js';

/**
 * Decision 0033: the secrets a member's hosts must share (ledger key, log signer key, token signing
 * key, admin token, vault root secret, supply key, claims secret, research pseudonym secret) live in
 * each host's node folder, and a host started without a copy used to create its own silently, so the
 * member diverged (pseudonyms, commitments and supply keys that no other host could match). The
 * member's database now holds a fingerprint of each, recorded by the first host that starts, and a
 * host whose secret is missing or differs refuses to start (ERR_CONFIG, exit 78 = EX_CONFIG).
 */
export interface SecretFingerprintStore {
  /** The fingerprint recorded for `name`, if any. */
  fingerprint(name: string): Promise<string | undefined>;
  /** Records `fingerprint` unless one is recorded already; returns the one recorded (first wins). */
  recordFingerprint(name: string, fingerprint: string, recordedAt: string): Promise<string>;
}

/** One secret of the node as this host holds it. */
export interface HostSecret {
  /** A stable name (the key of its row): `ledger-key`, `claims-secret`, ... */
  readonly name: string;
  /** Where the operator finds it: a file path, or an environment variable's name. */
  readonly source: string;
  /** The secret's bytes, read now; undefined when the source is absent on this host. */
  readonly bytes: Uint8Array | undefined;
  /** True when this start created it (the file was not there before). */
  readonly createdNow: boolean;
  /** Removes what this start created, when it is refused (so the next start says "missing" again). */
  readonly discard?: () => void;
}

/**
 * A keyed hash of a secret: HMAC-SHA-256 (RFC 2104) keyed by the secret over a fixed label and the
 * name, so the row reveals nothing usable about the secret (it is 32 random bytes or a private key:
 * no guess can be checked against it), and two secrets of equal value under different names do not
 * share a fingerprint.
 */
export function fingerprintSecret(name: string, secret: Uint8Array): string {
  return createHmac('sha256', secret).update(`careledger secret fingerprint v1|${name}`).digest('hex');
}

/** A host secret read from a file (its trimmed text is the secret); `createdNow` from a snapshot. */
export function readHostSecretFile(name: string, path: string, existedAtStart: boolean): HostSecret {
  const bytes = existsSync(path) ? new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim())) : undefined;
  const createdNow = bytes !== undefined && !existedAtStart;
  return {
    name,
    source: path,
    bytes,
    createdNow,
    ...(createdNow ? { discard: () => rmSync(path, { force: true }) } : {}),
  };
}

/**
 * Checks each secret against the member's database and records the fingerprints not yet recorded.
 * Throws ERR_CONFIG naming every file at fault (never its content) when a recorded secret is missing
 * on this host, was only just created here (so this host never had the member's copy), or differs;
 * then nothing is recorded and the files this start created are removed. Two hosts starting together
 * for the first time race on the insert; the loser sees the winner's fingerprint and refuses, so the
 * member can never end up with two.
 */
export async function verifySharedSecrets(
  store: SecretFingerprintStore,
  secrets: readonly HostSecret[],
  now: () => Date = () => new Date(),
): Promise<{ recorded: string[] }> {
  const faults: Fault[] = [];
  const unrecorded: { secret: HostSecret; mine: string }[] = [];
  for (const secret of secrets) {
    const known = await store.fingerprint(secret.name);
    const mine = secret.bytes === undefined ? undefined : fingerprintSecret(secret.name, secret.bytes);
    if (known === undefined) {
      if (mine !== undefined) unrecorded.push({ secret, mine });
    } else if (mine === undefined || secret.createdNow) faults.push({ secret, reason: 'secret-missing' });
    else if (known !== mine) faults.push({ secret, reason: 'secret-differs' });
  }
  if (faults.length > 0) refuse(faults, secrets);
  const recorded: string[] = [];
  for (const { secret, mine } of unrecorded) {
    const winner = await store.recordFingerprint(secret.name, mine, now().toISOString());
    if (winner !== mine)
      refuse([{ secret, reason: secret.createdNow ? 'secret-missing' : 'secret-differs' }], secrets);
    recorded.push(secret.name);
  }
  return { recorded };
}

interface Fault {
  readonly secret: HostSecret;
  readonly reason: 'secret-missing' | 'secret-differs';
}

function refuse(faults: readonly Fault[], secrets: readonly HostSecret[]): never {
  for (const secret of secrets) secret.discard?.();
  const lines = faults.map(({ secret, reason }) =>
    reason === 'secret-missing'
      ? `${secret.source} (${secret.name}) is missing on this host`
      : `${secret.source} (${secret.name}) differs from the one the member's database records`,
  );
  throw new CareLedgerError(
    'ERR_CONFIG',
    `this host's node folder does not hold the member's secrets: ${lines.join('; ')}. Copy them from a host ` +
      'of this member (the whole node folder after its first start; keystore.json with it), then start again',
    {
      details: {
        reason: faults[0]?.reason ?? 'secret-differs',
        secrets: faults.map((f) => ({ name: f.secret.name, source: f.secret.source, reason: f.reason })),
      },
    },
  );
}
