import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerClaimCommands } from '../claims/index.js';
import { registerCredentialCommands } from '../credentials/index.js';
import { CareLedgerError } from '../errors/index.js';
import {
  defaultWorkerCount,
  parseWorkerCount,
  startMemberProcesses,
} from '../node/workers/start-member-processes.js';
import { registerAdminClientCommands } from './commands/admin-clients.js';
import { formatChainStatus, readChainStatus } from './commands/chain-status.js';
import { registerDemoCommands } from './commands/demo-token.js';
import { DevConsortium } from './commands/dev-consortium.js';
import { registerExportCommand } from './commands/export.js';
import { registerImportCommand } from './commands/import.js';
import { registerLogCommands } from './commands/log-commands.js';
import { registerNetworkCommands } from './commands/network-commands.js';
import { registerPatientCommands } from './commands/patient-erase.js';
import { registerExchangeCommands } from './commands/records-exchange.js';
import { registerSummaryCommands } from './commands/summary-verify.js';
import { registerVaultCommands } from './commands/vault-hsm.js';
import { resolveDataDir } from './data-dir.js';
import { EXIT, exitCodeFor, UsageError } from './exit-codes.js';

function waitForShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping…\n`);
    stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        process.stderr.write(`stop failed: ${(error as Error).message}\n`);
        process.exit(EXIT.software);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function createProgram(): Command {
  const program = new Command();
  program
    .name('careledger')
    .description('CareLedger: medical records for a healthcare consortium, on a verifiable ledger')
    .version('0.1.0')
    .option('--data-dir <dir>', 'folder holding all state (default: $CARELEDGER_DATA_DIR or ./.careledger)')
    .exitOverride();

  program
    .command('dev')
    .description('start a demo consortium: the embedded chain plus a hospital, a lab and a pharmacy node')
    .option('--chain-port <port>', 'port of the embedded chain', '8545')
    .option('--base-port <port>', 'port of the first member node (the others follow)', '8701')
    .action(async (options: { chainPort: string; basePort: string }) => {
      const dataDir = resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
      const dev = new DevConsortium({
        dataDir,
        chainPort: Number(options.chainPort),
        basePort: Number(options.basePort),
        seedDemoRecords: true,
      });
      waitForShutdown(() => dev.stop());
      const started = performance.now();
      // A first start that fails leaves no half-made data folder (chain/ without a deployment) behind.
      const fresh = !existsSync(dataDir) || readdirSync(dataDir).length === 0;
      try {
        await dev.start();
      } catch (error) {
        await dev.stop().catch(() => undefined);
        if (fresh) rmSync(dataDir, { recursive: true, force: true });
        throw error;
      }
      const status = await readChainStatus(dataDir, dev.chain.rpcUrl);
      process.stdout.write(
        [
          '',
          `CareLedger demo consortium is up (${((performance.now() - started) / 1000).toFixed(1)} s), data in ${dataDir}`,
          '',
          formatChainStatus(status),
          '',
          ...(dev.demoUsers === undefined
            ? []
            : [
                `SMART on FHIR sign-in at ${dev.demoUsers.fhirBaseUrl} (client_id ${dev.demoUsers.smartClient.clientId}):`,
                ...dev.demoUsers.accounts.map(
                  (a) =>
                    `  ${a.username.padEnd(16)} ${a.fhirUser.padEnd(48)} ${a.roles.join(', ') || 'patient'}`,
                ),
                `  passwords and TOTP secrets: ${join(dataDir, 'demo-users.json')}`,
                '',
              ]),
          ...(dev.demoRecords === undefined
            ? []
            : [
                "The demo patient's records are spread over the members (the story: README, 'The demo story'):",
                ...Object.entries(dev.demoRecords.patientIds).map(
                  ([member, id]) =>
                    `  ${member.padEnd(9)} Patient/${id}  (${dev.demoRecords?.counts[member as 'lab']} records)`,
                ),
                `  portal: ${dev.nodes[0]?.url}/portal/`,
                '',
              ]),
          'Try, in another terminal: npx careledger chain status    (Ctrl-C stops everything; state is kept for the next start)',
          '',
        ].join('\n'),
      );
    });

  const node = program.command('node').description('run one member node');
  node
    .command('start')
    .description('start a member node from its folder (node.json, keys, database)')
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--workers <n>',
      'HTTP processes of this member, sharing its port and database; a primary process sequences the log (default: one per core)',
    )
    .action(async (options: { dir: string; tlsCert?: string; tlsKey?: string; workers?: string }) => {
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
        throw new UsageError('node start: give --tls-cert and --tls-key together');
      const running = await startMemberProcesses(options.dir, {
        workers: options.workers === undefined ? defaultWorkerCount() : parseWorkerCount(options.workers),
        ...(options.tlsCert === undefined || options.tlsKey === undefined
          ? {}
          : { tls: { certFile: options.tlsCert, keyFile: options.tlsKey } }),
      });
      waitForShutdown(() => running.close());
      // Started by `careledger dev`: stop when the supervisor goes away, however it went.
      if (process.send !== undefined) {
        process.on('disconnect', () => {
          void running.close().finally(() => process.exit(0));
        });
      }
    });

  const chain = program.command('chain').description('the consortium ledger');
  chain
    .command('status')
    .description('block height, contract addresses, members and each node’s sync lag')
    .option('--json', 'print JSON')
    .option('--rpc-url <url>', 'chain RPC URL (default: $CARELEDGER_CHAIN_RPC_URL or the demo chain)')
    .action(async (options: { json?: boolean; rpcUrl?: string }) => {
      const status = await readChainStatus(
        resolveDataDir(program.opts<{ dataDir?: string }>().dataDir),
        options.rpcUrl,
      );
      process.stdout.write(
        options.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatChainStatus(status)}\n`,
      );
    });

  registerLogCommands(program);
  registerNetworkCommands(program);
  registerImportCommand(program);
  registerExportCommand(program);
  registerPatientCommands(program);
  registerAdminClientCommands(program);
  registerExchangeCommands(program);
  registerSummaryCommands(program);
  registerDemoCommands(program);
  registerVaultCommands(program);
  registerCredentialCommands(program);
  registerClaimCommands(program);
  configureUsageErrors(program);
  return program;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Commander's usage errors as one line: the command, what went wrong (which names what to add) and
 * its usage, instead of the whole help burying the error.
 */
function configureUsageErrors(command: Command): void {
  command.showHelpAfterError(false).configureOutput({
    outputError: (message, write) => {
      const what = message
        .replace(/^error: /, '')
        .replace(/\s*\n\s*/g, ' ')
        .trim();
      const path = commandPath(command);
      write(
        command.commands.length > 0
          ? `${path}: ${what} (\`${path} --help\` lists the commands)\n`
          : `${path}: ${what}; usage: ${path} ${command.usage()}\n`,
      );
    },
  });
  for (const sub of command.commands) configureUsageErrors(sub);
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`careledger: ${error.message}\n`);
      return EXIT.usage;
    }
    const message =
      error instanceof CareLedgerError ? error.message : ((error as Error).stack ?? String(error));
    process.stderr.write(`careledger: ${message}\n`);
    return exitCodeFor(error);
  }
}

const code = await main(process.argv.slice(2));
// Long-running commands (dev, node start) keep the event loop alive; the rest exit with their code.
if (code !== EXIT.ok) process.exit(code);
else process.exitCode = code;
