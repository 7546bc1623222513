import type { Command } from 'commander';
import { CareLedgerError, isCareLedgerError } from '../../errors/index.js';
import { parseCheckpoint, parseSignedNote } from '../../log/index.js';
import { resolveDataDir } from '../data-dir.js';
import { parseNodeUrl, runLogAudit } from './log-audit.js';
import { createProofPolicy } from './proof-policy.js';
import { type CommandOutput, POLICY_HELP, runProofVerify } from './proof-verify.js';

export interface LogCommandsIo {
  readonly stdout?: CommandOutput;
  readonly stderr?: CommandOutput & { readonly isTTY?: boolean; readonly columns?: number };
  readonly fetch?: typeof fetch;
}

function parseCount(value: string, option: string): number {
  if (!/^[1-9][0-9]{0,2}$/.test(value))
    throw new CareLedgerError('ERR_INVALID_INPUT', `${option} must be an integer from 1 to 999`);
  return Number(value);
}

/** `careledger log checkpoint`: the node's latest signed checkpoint, checked to parse, printed verbatim. */
export async function readNodeCheckpoint(nodeUrl: string, fetchFn: typeof fetch = fetch): Promise<string> {
  const url = parseNodeUrl(nodeUrl, 'log/checkpoint');
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(url, { signal: AbortSignal.timeout(30_000) });
    text = await response.text();
  } catch (cause) {
    throw new CareLedgerError('ERR_LOG_UNAVAILABLE', `${url.origin} does not answer`, { cause });
  }
  if (!response.ok)
    throw new CareLedgerError('ERR_LOG_UNAVAILABLE', `${url.pathname}: HTTP ${response.status}`, {
      details: { status: response.status },
    });
  try {
    parseCheckpoint(parseSignedNote(text).text);
  } catch (cause) {
    const reason = isCareLedgerError(cause) ? ` (${String(cause.details.reason)})` : '';
    throw new CareLedgerError(
      'ERR_LOG_CHECKPOINT_INVALID',
      `the node serves a malformed checkpoint${reason}`,
      {
        cause,
      },
    );
  }
  return text;
}

/**
 * Adds `proof verify`, `log audit` and `log checkpoint`. Failures throw a CareLedgerError; the
 * program's main prints its one-line message and exits with exitCodeFor(error).
 */
export function registerLogCommands(program: Command, io: LogCommandsIo = {}): void {
  const stdout = (): CommandOutput => io.stdout ?? process.stdout;
  const dataDir = (): string => resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);

  const proof = program.command('proof').description('offline proofs of the transparency logs');
  proof
    .command('verify')
    .description('verify a C2SP tlog-proof offline: parse, log-signature, cosignatures (k of n), inclusion')
    .argument('<file>', 'the .tlog-proof file')
    .requiredOption('--policy <file>', 'the trust policy: log and witness keys, quorum (format below)')
    .option('--entry <file>', "check these entry bytes instead of the proof's unauthenticated extra data")
    .option(
      '--record <file.json>',
      'check the entry recomputed from a served AuditEvent or record version (as `patient view --save` keeps them)',
    )
    .option('--json', 'print { ok, step?, reason?, origin, index, size, witnesses } as JSON')
    .addHelpText(
      'after',
      `
${POLICY_HELP}

Exit status: 0 if the proof verifies, 65 if it does not ("FAILED at step <step>: <reason>").

Example:
  $ cat policy.txt
  log hospital.example/log+1a2b3c4d+AQ...
  witness witness.example/w1+5e6f7a8b+BA...
  quorum 1
  $ careledger proof verify entry-42.tlog-proof --policy policy.txt`,
    )
    .action((file: string, options: { policy: string; entry?: string; record?: string; json?: boolean }) => {
      runProofVerify(
        {
          proofFile: file,
          policyFile: options.policy,
          ...(options.entry === undefined ? {} : { entryFile: options.entry }),
          ...(options.record === undefined ? {} : { recordFile: options.record }),
          json: options.json === true,
        },
        stdout(),
      );
    });

  proof
    .command('policy')
    .description(
      "write a trust policy for proof verify from the ledger: the log's key and the other members' witness keys",
    )
    .argument(
      '<log>',
      'a log origin (hospital.careledger.test/log) or a member node URL (http://127.0.0.1:8701)',
    )
    .option(
      '--rpc-url <url>',
      'chain RPC URL (default: $CARELEDGER_CHAIN_RPC_URL or the data dir’s chain.json)',
    )
    .option('--quorum <k>', 'witness cosignatures to require (default: a majority of the other members)')
    .addHelpText(
      'after',
      `
Example:
  $ careledger proof policy http://127.0.0.1:8701 > policy.txt
  $ careledger proof verify entry-0.tlog-proof --policy policy.txt`,
    )
    .action(async (logName: string, options: { rpcUrl?: string; quorum?: string }) => {
      const text = await createProofPolicy({
        dataDir: dataDir(),
        log: logName,
        ...(options.rpcUrl === undefined ? {} : { rpcUrl: options.rpcUrl }),
        ...(options.quorum === undefined ? {} : { quorum: Number(options.quorum) }),
      });
      stdout().write(text);
    });

  const log = program.command('log').description('member nodes’ transparency logs');
  log
    .command('audit')
    .description(
      "audit a member node's log: signature by its ledger-registered key, every tile and entry, every anchor",
    )
    .argument('<node-url>', 'the member node, e.g. http://127.0.0.1:8701 (its log is under /log/)')
    .option(
      '--rpc-url <url>',
      'chain RPC URL (default: $CARELEDGER_CHAIN_RPC_URL or the data dir’s chain.json)',
    )
    .option('--deployment <file>', 'the deployment record (default: the data dir’s chain/deployment.json)')
    .option('--concurrency <n>', 'tile requests in flight', '8')
    .option('--json', 'print the report as JSON, listing every problem')
    .option('--quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
Checks, in order: checkpoint, log-owner, checkpoint-signature, tiles, root, anchor-order,
anchor-conflict, anchor-rollback, anchor-root. Exit status 0 if all pass; otherwise the first
failed check is named (65 for a bad log, 77 for an origin no member owns, 69 if the node or
the chain does not answer). The ledger is found with the global --data-dir.

Example:
  $ careledger log audit http://127.0.0.1:8701 --rpc-url http://127.0.0.1:8545`,
    )
    .action(
      async (
        nodeUrl: string,
        options: {
          rpcUrl?: string;
          deployment?: string;
          concurrency: string;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        await runLogAudit(
          {
            nodeUrl,
            dataDir: dataDir(),
            ...(options.rpcUrl === undefined ? {} : { rpcUrl: options.rpcUrl }),
            ...(options.deployment === undefined ? {} : { deployment: options.deployment }),
            concurrency: parseCount(options.concurrency, '--concurrency'),
            json: options.json === true,
            quiet: options.quiet === true,
          },
          { stdout: stdout(), stderr: io.stderr ?? process.stderr },
        );
      },
    );

  log
    .command('checkpoint')
    .description("print a member node's latest signed checkpoint (not verified: see log audit)")
    .argument('<node-url>', 'the member node, e.g. http://127.0.0.1:8701')
    .option('--json', 'print { origin, size, rootHash, signatures } as JSON')
    .addHelpText(
      'after',
      `
Example:
  $ careledger log checkpoint http://127.0.0.1:8701`,
    )
    .action(async (nodeUrl: string, options: { json?: boolean }) => {
      const note = await readNodeCheckpoint(nodeUrl, io.fetch);
      if (options.json !== true) {
        stdout().write(note);
        return;
      }
      const signed = parseSignedNote(note);
      const checkpoint = parseCheckpoint(signed.text);
      const json = {
        origin: checkpoint.origin,
        size: checkpoint.size,
        rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
        signatures: signed.signatures.map((s) => s.name),
      };
      stdout().write(`${JSON.stringify(json, null, 2)}\n`);
    });
}
