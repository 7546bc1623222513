/**
 * The live licence check behind access decisions (issue 21 item 3, decision 0018): when a node
 * requires credentials, a practitioner is admitted only while the licence credential they enrolled
 * with verifies against the chain (admitted board, its registered key, not expired, about their
 * ledger account, neither revoked nor suspended). Status and issuers come from CredentialChainIndex,
 * synced once per block, so a check costs no chain round trip once warm.
 *
 * Decision 0028: the check is per action (action-qualifications.ts: prescribing needs a prescriber),
 * and reaches any member's practitioner by ledger account (practitioner-standing.ts): another
 * member's request on behalf of one, or a clinician here known by the ledger key of their account.
 */
import { readFileSync } from 'node:fs';
import { type Address, getAddress, isAddress, type PublicClient } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { credentialStatusAbi } from '../ledger/index.js';
import { type CredentialAction, evaluateQualification } from './action-qualifications.js';
import { CredentialChainIndex } from './credential-ledger.js';
import { practitionerDid } from './practitioner-credential.js';
import { type AttestationFacts, evaluatePractitionerStanding } from './practitioner-standing.js';
import { verifyCredentialOnChain } from './verify-on-chain.js';

/** node.json `practitionerCredentials`: off unless `required` is true. */
export interface PractitionerCredentialsConfig {
  readonly required: boolean;
  /**
   * JSON object: practitioner id (as in `Practitioner/<id>`) → {credential: vc+jwt, account: ledger
   * address}, the credential each practitioner presented when enrolled here. Read at start. Optional:
   * without it (or for a practitioner not in it) the credential is the one the member attested for
   * the practitioner's ledger account (decision 0028).
   */
  readonly directoryFile?: string;
  /** How often the chain index follows new blocks (ms, default 500). */
  readonly syncIntervalMs?: number;
}

export interface EnrolledPractitioner {
  readonly credential: string;
  readonly account: Address;
}

/** A practitioner here (`Practitioner/<id>`), or any member's practitioner by ledger account. */
export type PractitionerRef = { readonly practitionerId: string } | { readonly account: Address };

/** The refusal reason for a practitioner and action, or undefined when their licence allows it now. */
export type PractitionerCheck = (
  who: PractitionerRef,
  action?: CredentialAction,
) => Promise<string | undefined>;

export function loadPractitionerDirectory(path: string): ReadonlyMap<string, EnrolledPractitioner> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CareLedgerError('ERR_CONFIG', 'the practitioner credential directory is not readable JSON', {
      cause,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CareLedgerError('ERR_CONFIG', 'the practitioner credential directory must be a JSON object');
  }
  const directory = new Map<string, EnrolledPractitioner>();
  for (const [id, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const { credential, account } = (entry ?? {}) as { credential?: unknown; account?: unknown };
    if (typeof credential !== 'string' || typeof account !== 'string' || !isAddress(account)) {
      throw new CareLedgerError('ERR_CONFIG', `practitioner ${id} needs a credential and a ledger account`);
    }
    directory.set(id, { credential, account: getAddress(account) });
  }
  return directory;
}

export function createPractitionerCheck(options: {
  readonly index: CredentialChainIndex;
  readonly directory: ReadonlyMap<string, EnrolledPractitioner>;
  readonly chainId: number;
  readonly now: () => Date;
  /** The member attestation of a ledger account, from the node's chain index. */
  readonly attestation?: (account: Address) => Promise<AttestationFacts | undefined>;
  /** The ledger account of a practitioner here (their user account's), when not in the directory. */
  readonly accountOf?: (practitionerId: string) => Promise<Address | undefined>;
}): PractitionerCheck {
  const byAccount = async (account: Address, action: CredentialAction): Promise<string | undefined> => {
    if (options.attestation === undefined) return 'no-credential (none enrolled)';
    const standing = await evaluatePractitionerStanding(
      account,
      { index: options.index, attestation: options.attestation },
      options.now(),
    );
    if (!standing.valid) return standing.reason;
    return evaluateQualification(action, standing.record.qualification);
  };
  const byDirectory = async (enrolled: EnrolledPractitioner, action: CredentialAction) => {
    const credential = await verifyCredentialOnChain(enrolled.credential, {
      index: options.index,
      now: options.now(),
      expectedSubject: practitionerDid(options.chainId, enrolled.account),
    });
    return evaluateQualification(action, credential.credentialSubject.qualification);
  };
  return async (who, action = 'access') => {
    try {
      let reason: string | undefined;
      if ('account' in who) reason = await byAccount(who.account, action);
      else {
        const enrolled = options.directory.get(who.practitionerId);
        const account = enrolled === undefined ? await options.accountOf?.(who.practitionerId) : undefined;
        if (enrolled !== undefined) reason = await byDirectory(enrolled, action);
        else if (account !== undefined) reason = await byAccount(account, action);
        else reason = 'no-credential (none enrolled)';
      }
      return reason === undefined ? undefined : `practitioner credential: ${reason}`;
    } catch (error) {
      if (error instanceof CareLedgerError && typeof error.details.reason === 'string') {
        return `practitioner credential: ${error.details.reason}`;
      }
      // The chain could not be read: fail closed.
      return 'practitioner credential: status-unavailable';
    }
  };
}

/** Starts the node's check: the index on the deployment's CredentialStatus, following each block. */
export async function startPractitionerCheck(options: {
  readonly config: PractitionerCredentialsConfig;
  readonly client: PublicClient;
  readonly credentialStatus: Address | undefined;
  readonly chainId: number;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  readonly attestation?: (account: Address) => Promise<AttestationFacts | undefined>;
  readonly accountOf?: (practitionerId: string) => Promise<Address | undefined>;
}): Promise<{
  check: PractitionerCheck;
  index: CredentialChainIndex;
  stop(): void;
  isRequired(): boolean;
  setRequired(required: boolean): void;
}> {
  if (options.credentialStatus === undefined) {
    throw new CareLedgerError(
      'ERR_CONFIG',
      'practitionerCredentials.required needs a deployment with a CredentialStatus contract',
    );
  }
  const registry = await options.client.readContract({
    address: options.credentialStatus,
    abi: credentialStatusAbi,
    functionName: 'registry',
  });
  const index = new CredentialChainIndex(options.client, options.credentialStatus, registry);
  await index.sync();
  const timer = setInterval(() => {
    index
      .sync()
      .catch((error: unknown) => options.log?.(`credential index sync: ${(error as Error).message}`));
  }, options.config.syncIntervalMs ?? 500);
  timer.unref();
  let required = options.config.required;
  const enforced = createPractitionerCheck({
    index,
    directory:
      options.config.directoryFile === undefined
        ? new Map()
        : loadPractitionerDirectory(options.config.directoryFile),
    chainId: options.chainId,
    now: options.now ?? (() => new Date()),
    ...(options.attestation === undefined ? {} : { attestation: options.attestation }),
    ...(options.accountOf === undefined ? {} : { accountOf: options.accountOf }),
  });
  const check: PractitionerCheck = async (who, action) => (required ? enforced(who, action) : undefined);
  return {
    check,
    index,
    stop: () => clearInterval(timer),
    isRequired: () => required,
    setRequired: (value) => {
      required = value;
    },
  };
}
