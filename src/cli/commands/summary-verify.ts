import { readFileSync } from 'node:fs';
import type { Bundle } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { verifyDocumentSignature } from '../../fhir/ips/index.js';
import type { CommandOutput } from './proof-verify.js';

export interface SummaryVerifyOptions {
  readonly file: string;
  /** Require this member's address as the signer. */
  readonly signer?: string;
  /** `careledger chain status --json` output: require an active member among its `members`. */
  readonly membersFile?: string;
  readonly json?: boolean;
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the ${what} file ${path}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `the ${what} file ${path} is not JSON`, { cause });
  }
}

/** The active members' addresses (lower-case) of a `chain status --json` document. */
function activeMembers(path: string): ReadonlySet<string> {
  const status = readJson(path, 'members') as { members?: unknown };
  if (!Array.isArray(status?.members)) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `${path} has no members[] (use careledger chain status --json)`,
    );
  }
  return new Set(
    (status.members as { address?: unknown; status?: unknown }[])
      .filter((m) => typeof m?.address === 'string' && (m.status === undefined || m.status === 'active'))
      .map((m) => (m.address as string).toLowerCase()),
  );
}

/**
 * `careledger summary verify`: checks offline the member's signature on a downloaded International
 * Patient Summary (`GET /fhir/Patient/{id}/$summary`). Prints the signer on success; otherwise throws
 * ERR_SIGNATURE_INVALID (exit 65) whose details.reason says why. Prints nothing of the document.
 */
export async function runSummaryVerify(
  options: SummaryVerifyOptions,
  stdout: CommandOutput = process.stdout,
): Promise<{ signer: string; when: string }> {
  const bundle = readJson(options.file, 'summary') as Bundle;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'document') {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${options.file} is not a FHIR document Bundle`);
  }
  const members = options.membersFile === undefined ? undefined : activeMembers(options.membersFile);
  const verified = await verifyDocumentSignature(bundle, {
    ...(options.signer === undefined ? {} : { expectedSigner: options.signer }),
    ...(members === undefined ? {} : { isMember: (address: string) => members.has(address.toLowerCase()) }),
  });
  stdout.write(
    options.json === true
      ? `${JSON.stringify({ ok: true, ...verified, member: members !== undefined })}\n`
      : `OK signed by ${verified.signer} at ${verified.when}${members === undefined ? '' : ' (an active member)'}\n`,
  );
  return verified;
}

/** Adds `summary verify`. */
export function registerSummaryCommands(
  program: Command,
  io: { readonly stdout?: CommandOutput } = {},
): void {
  const summary = program.command('summary').description('International Patient Summaries signed by members');
  summary
    .command('verify')
    .description("verify offline the member's signature on a downloaded $summary document")
    .argument('<file>', 'the IPS document Bundle (JSON)')
    .option('--signer <address>', "require this member's ledger address as the signer")
    .option('--members <file>', 'require an active member of this `careledger chain status --json` output')
    .option('--json', 'print { ok, signer, when, member } as JSON')
    .addHelpText(
      'after',
      `
Exit status: 0 if the signature verifies, 65 if it does not (the reason is printed).

Example:
  $ npx careledger chain status --json > members.json
  $ npx careledger summary verify summary.json --members members.json`,
    )
    .action(async (file: string, options: { signer?: string; members?: string; json?: boolean }) => {
      await runSummaryVerify(
        {
          file,
          ...(options.signer === undefined ? {} : { signer: options.signer }),
          ...(options.members === undefined ? {} : { membersFile: options.members }),
          json: options.json === true,
        },
        io.stdout ?? process.stdout,
      );
    });
}
