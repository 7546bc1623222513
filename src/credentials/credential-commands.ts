/**
 * `careledger credential issue|verify`: offline, from files. Issuing signs an unsigned licence
 * credential (JSON) with a board's private ES256 JWK and prints the vc+jwt; verifying checks one
 * against a file of admitted issuers' keys and a file of status lists, and prints why it is refused.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JWK } from 'jose';
import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { decodeStatusList } from './bitstring-status-list.js';
import type { CommandOutput } from './command-output.js';
import { registerCredentialChainCommands } from './credential-chain-commands.js';
import { type PractitionerLicenseCredential, parseCredential } from './practitioner-credential.js';
import { type IssuerKey, issueCredential, type StatusListSnapshot, verifyCredential } from './vc-jwt.js';

export type { CommandOutput } from './command-output.js';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the ${what} file ${path}`, { cause });
  }
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readText(path, what));
  } catch (cause) {
    if (isCareLedgerError(cause)) throw cause;
    throw new CareLedgerError('ERR_INVALID_INPUT', `the ${what} file ${path} is not JSON`, { cause });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ "<issuer id>": [<public JWK with kid>, ...] }` */
export function readIssuerKeys(path: string): Map<string, IssuerKey[]> {
  const value = readJson(path, 'issuers');
  if (!isObject(value))
    throw new CareLedgerError('ERR_INVALID_INPUT', `${path}: expected { issuer: [JWK, ...] }`);
  const issuers = new Map<string, IssuerKey[]>();
  for (const [issuer, keys] of Object.entries(value)) {
    if (
      !Array.isArray(keys) ||
      !keys.every((k) => isObject(k) && typeof k.kid === 'string' && k.d === undefined)
    ) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `${path}: the keys of each issuer must be public JWKs with a kid`,
      );
    }
    issuers.set(issuer, keys as IssuerKey[]);
  }
  return issuers;
}

/** `{ "<statusListCredential URL>": { "statusPurpose": ..., "encodedList": "u..." } }` (a list credential's subject). */
export function readStatusLists(path: string): Map<string, StatusListSnapshot> {
  const value = readJson(path, 'status lists');
  if (!isObject(value))
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `${path}: expected { url: { statusPurpose, encodedList } }`,
    );
  const lists = new Map<string, StatusListSnapshot>();
  for (const [url, list] of Object.entries(value)) {
    if (
      !isObject(list) ||
      (list.statusPurpose !== 'revocation' && list.statusPurpose !== 'suspension') ||
      typeof list.encodedList !== 'string'
    ) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `${path}: each list needs statusPurpose and encodedList`,
      );
    }
    lists.set(url, { statusPurpose: list.statusPurpose, bitstring: decodeStatusList(list.encodedList) });
  }
  return lists;
}

export async function runCredentialIssue(
  options: { readonly file: string; readonly key: string; readonly kid: string },
  stdout: CommandOutput = process.stdout,
): Promise<string> {
  const credential = parseCredential(readJson(options.file, 'credential')) as PractitionerLicenseCredential;
  const privateKey = readJson(options.key, 'issuer key') as JWK;
  const jwt = await issueCredential(credential, { privateKey, kid: options.kid });
  stdout.write(`${jwt}\n`);
  return jwt;
}

export async function runCredentialVerify(
  options: {
    readonly file: string;
    readonly issuers: string;
    readonly statusLists: string;
    readonly subject?: string;
    readonly now?: Date;
    readonly json?: boolean;
  },
  stdout: CommandOutput = process.stdout,
): Promise<PractitionerLicenseCredential> {
  const jwt = readText(options.file, 'credential').trim();
  try {
    const credential = await verifyCredential(jwt, {
      issuerKeys: readIssuerKeys(options.issuers),
      statusLists: readStatusLists(options.statusLists),
      now: options.now ?? new Date(),
      ...(options.subject === undefined ? {} : { expectedSubject: options.subject }),
    });
    const { id, licenseNumber, jurisdiction, qualification } = credential.credentialSubject;
    stdout.write(
      options.json === true
        ? `${JSON.stringify({ ok: true, issuer: credential.issuer, subject: id, licenseNumber, jurisdiction, qualification, validUntil: credential.validUntil })}\n`
        : `OK ${qualification.code} licence ${licenseNumber} (${jurisdiction}) of ${id}, issued by ${credential.issuer}\n`,
    );
    return credential;
  } catch (error) {
    if (options.json === true && isCareLedgerError(error)) {
      stdout.write(`${JSON.stringify({ ok: false, reason: error.details.reason ?? error.code })}\n`);
    }
    throw error;
  }
}

function parseNow(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const now = new Date(text);
  if (Number.isNaN(now.getTime()))
    throw new CareLedgerError('ERR_INVALID_INPUT', '--now must be an ISO date-time');
  return now;
}

/** Adds `credential issue` and `credential verify`. */
export function registerCredentialCommands(
  program: Command,
  io: { readonly stdout?: CommandOutput } = {},
): void {
  const credential = program
    .command('credential')
    .description('practitioner licences as W3C verifiable credentials (vc+jwt)');
  registerCredentialChainCommands(credential, io);
  credential
    .command('issue')
    .description('sign a licence credential (JSON) with a licensing board key and print the vc+jwt')
    .argument('<file>', 'the unsigned PractitionerLicenseCredential (JSON)')
    .requiredOption('--key <file>', "the board's private ES256 key (JWK)")
    .requiredOption('--kid <id>', 'the key id verifiers know the key by')
    .action(async (file: string, options: { key: string; kid: string }) => {
      await runCredentialIssue({ file, key: options.key, kid: options.kid }, io.stdout ?? process.stdout);
    });
  credential
    .command('verify')
    .description('verify a vc+jwt licence offline: admitted issuer, signature, validity, status, subject')
    .argument('<file>', 'the vc+jwt')
    .requiredOption('--issuers <file>', 'admitted issuers: { "<issuer id>": [public JWK with kid, ...] }')
    .requiredOption(
      '--status-lists <file>',
      '{ "<statusListCredential URL>": { statusPurpose, encodedList } }',
    )
    .option('--subject <did>', 'require this practitioner (did:pkh:eip155:<chainId>:<address>)')
    .option('--now <date-time>', 'check validity at this time instead of now')
    .option('--json', 'print { ok, ... } or { ok: false, reason } as JSON')
    .addHelpText(
      'after',
      `
Exit status: 0 if the licence is valid; 65 if malformed, a bad signature or a status list is missing;
77 if refused (issuer-not-admitted, not-yet-valid, expired, revoked, suspended, wrong-subject).`,
    )
    .action(
      async (
        file: string,
        options: { issuers: string; statusLists: string; subject?: string; now?: string; json?: boolean },
      ) => {
        const now = parseNow(options.now);
        await runCredentialVerify(
          {
            file,
            issuers: options.issuers,
            statusLists: options.statusLists,
            ...(options.subject === undefined ? {} : { subject: options.subject }),
            ...(now === undefined ? {} : { now }),
            json: options.json === true,
          },
          io.stdout ?? process.stdout,
        );
      },
    );
}
