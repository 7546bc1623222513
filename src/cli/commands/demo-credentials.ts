/**
 * The demo's licences (issue 21, decision 0028), seeded over the members' admin APIs once the demo's
 * users exist: the State Medical Board proposes its issuer key and the other members vote it in; the
 * board issues each clinician of a member a licence (MD), records it on the ledger, the member attests
 * the clinician with it; then the members switch the live check on. Idempotent: a second run finds
 * the key admitted and the clinicians licensed and sends nothing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  buildLicenseCredential,
  issueCredential,
  issuerKeyOnChain,
  practitionerDid,
  V2_0360_SYSTEM,
} from '../../credentials/index.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { requestJson } from '../http-json.js';

export interface DemoAdmin {
  readonly url: string;
  readonly adminToken: string;
}

export interface DemoLicence {
  readonly member: string;
  readonly practitioner: string;
  readonly name: string;
  readonly licenseNumber: string;
  /** Its place in the board's status lists: `careledger credential suspend <index>` stops it. */
  readonly statusIndex: number;
}

export interface DemoCredentialsOptions {
  readonly dataDir: string;
  readonly chainId: number;
  /** The board's node and its ledger address. */
  readonly board: DemoAdmin & { readonly address: string };
  /** Members whose votes admit the board's key (k - 1 of them: the board's proposal is a vote). */
  readonly voters: readonly DemoAdmin[];
  /** Members whose clinicians get licences, by name. */
  readonly members: Readonly<Record<string, DemoAdmin>>;
  /** Members that switch the live check on afterwards (their node.json has `practitionerCredentials`). */
  readonly enforceAt?: readonly DemoAdmin[];
  /**
   * Switch the check on at `enforceAt` before returning (default true). False lets the seed run beside
   * other seeding that still uses unlicensed identities; call enforceDemoCredentials after it.
   */
  readonly switchOn?: boolean;
  /**
   * Development identities (`X-CareLedger-Identity: Practitioner/dr-1` in the README tour) made licensed
   * clinicians: a user account with a fresh ledger key at every member of `enforceAt` (and of `members`),
   * licensed and attested by the first member of `members`.
   */
  readonly devClinicians?: readonly string[];
  readonly issuerId?: string;
  readonly log?: (line: string) => void;
  /** Validity start of the licences (default: the start of this year). */
  readonly now?: () => Date;
}

interface Listed {
  readonly name: string;
  readonly practitioner: string;
  readonly roles: readonly string[];
  readonly account: string | null;
  readonly status: string;
}

const ISSUER_ID = 'https://medical-board.careledger.test';

async function boardKey(dataDir: string): Promise<JWK> {
  const file = join(dataDir, 'board-issuer.jwk');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(pair.privateKey);
  writeFileDurably(file, `${JSON.stringify(jwk)}\n`, 0o600);
  return jwk;
}

/** Waits until the member's chain index holds the new attestation (its follower polls the chain). */
async function indexed(at: DemoAdmin, account: string, credentialHash: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { practitioners } = await requestJson<{
      practitioners: { address: string; credentialHash: string }[];
    }>(`${at.url}/ledger/practitioners`);
    const found = practitioners.find((p) => p.address.toLowerCase() === account.toLowerCase());
    if (found?.credentialHash.toLowerCase() === credentialHash.toLowerCase() || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Admin = <T>(at: DemoAdmin, path: string, body?: unknown, method?: string) => Promise<T>;

/** A user account (clinician, fresh ledger key) for each development identity, where it has none yet. */
async function enrolDevClinicians(options: DemoCredentialsOptions, admin: Admin): Promise<void> {
  const where = [...Object.values(options.members), ...(options.enforceAt ?? [])].filter(
    (at, i, all) => all.findIndex((x) => x.url === at.url) === i,
  );
  for (const fhirUser of options.devClinicians ?? []) {
    const account = privateKeyToAccount(generatePrivateKey()).address;
    for (const at of where) {
      const { practitioners } = await admin<{ practitioners: Listed[] }>(at, '/credentials/practitioners');
      if (practitioners.some((p) => p.practitioner === fhirUser)) continue;
      await admin(at, '/users', {
        username: fhirUser.slice('Practitioner/'.length),
        password: randomBytes(18).toString('base64url'),
        fhirUser,
        roles: ['clinician'],
        ledgerAddress: account,
      });
    }
  }
}

export async function seedDemoCredentials(options: DemoCredentialsOptions): Promise<DemoLicence[]> {
  const log = options.log ?? (() => undefined);
  const issuerId = options.issuerId ?? ISSUER_ID;
  const admin = <T>(at: DemoAdmin, path: string, body?: unknown, method?: string) =>
    requestJson<T>(`${at.url}/admin${path}`, {
      token: at.adminToken,
      ...(body === undefined ? {} : { body }),
      ...(method === undefined ? {} : { method }),
    });
  const privateKey = await boardKey(options.dataDir);
  const { d: _d, ...publicJwk } = privateKey;
  const onChain = await issuerKeyOnChain(publicJwk);
  const standing = await admin<{ admitted: boolean }>(
    options.board,
    `/credentials/issuer-keys/${options.board.address}`,
  );
  if (!standing.admitted) {
    await admin(options.board, '/credentials/issuer-keys', { issuerId, publicJwk });
    for (const voter of options.voters) {
      const vote = await admin<{ admitted: boolean }>(voter, '/credentials/issuer-keys/votes', {
        board: options.board.address,
        keyThumbprint: onChain.keyThumbprint,
      });
      if (vote.admitted) break;
    }
    log(`[board] issuer key ${onChain.kid.slice(0, 12)}… admitted by the members' vote`);
  }
  await enrolDevClinicians(options, admin);
  const licences: DemoLicence[] = [];
  const validFrom = new Date(Date.UTC((options.now?.() ?? new Date()).getUTCFullYear(), 0, 1));
  const validUntil = new Date(Date.UTC(validFrom.getUTCFullYear() + 2, 0, 1));
  for (const [member, at] of Object.entries(options.members)) {
    const { practitioners } = await admin<{ practitioners: Listed[] }>(at, '/credentials/practitioners');
    const clinicians = practitioners.filter((x) => x.roles.includes('clinician') && x.account !== null);
    // The clinicians side by side: each is two transactions and the members' index following them.
    const issued = await Promise.all(
      clinicians.map(async (p): Promise<DemoLicence> => {
        // Stable across runs and members: the account's first three bytes (a demo, not an allocator).
        const statusIndex = Number.parseInt((p.account as string).slice(2, 8), 16);
        const licenseNumber = `MD-${String(270000 + statusIndex)}`;
        const licence = { member, practitioner: p.practitioner, name: p.name, licenseNumber, statusIndex };
        if (p.status === 'valid') return licence;
        const credential = await issueCredential(
          buildLicenseCredential({
            issuer: issuerId,
            validFrom,
            validUntil,
            subject: {
              id: practitionerDid(options.chainId, p.account as string),
              licenseNumber,
              jurisdiction: 'US-MA',
              qualification: { system: V2_0360_SYSTEM, code: 'MD', display: 'Doctor of Medicine' },
            },
            status: {
              index: statusIndex,
              revocationList: `${issuerId}/status/revocation`,
              suspensionList: `${issuerId}/status/suspension`,
            },
          }),
          { privateKey, kid: onChain.kid },
        );
        await admin(options.board, '/credentials/records', { credential });
        const { credentialHash } = await admin<{ credentialHash: string }>(at, '/practitioners', {
          practitioner: p.account,
          credential,
        });
        // Every member that will check it has followed the attestation before the check goes on.
        await Promise.all(
          [at, ...(options.enforceAt ?? [])].map((f) => indexed(f, p.account as string, credentialHash)),
        );
        log(`[${member}] ${p.name} attested with licence ${licenseNumber} (status index ${statusIndex})`);
        return licence;
      }),
    );
    licences.push(...issued);
  }
  if (options.switchOn !== false) await enforceDemoCredentials(options.enforceAt ?? []);
  return licences;
}

/** Switches the live licence check on at these members (PUT /admin/credentials/enforcement). */
export async function enforceDemoCredentials(members: readonly DemoAdmin[]): Promise<void> {
  await Promise.all(
    members.map((at) =>
      requestJson(`${at.url}/admin/credentials/enforcement`, {
        token: at.adminToken,
        method: 'PUT',
        body: { required: true },
      }),
    ),
  );
}
