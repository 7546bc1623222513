import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerClaimCommands } from '../claims/index.js';
import { registerCredentialCommands } from '../credentials/index.js';
import { CareLedgerError } from '../errors/index.js';
import {
  defaultWorkerCount,
  parseBindAddress,
  parseWholeOption,
  parseWorkerCount,
  startMemberProcesses,
} from '../node/workers/start-member-processes.js';
import { registerResearchCommands } from '../research/ledger/research-commands.js';
import { registerResearchReleaseCommands } from '../research/release/research-release-commands.js';
import { registerSupplyCommands } from '../supply/index.js';
import { registerAdminClientCommands } from './commands/admin-clients.js';
import { formatChainStatus, readChainStatus } from './commands/chain-status.js';
import { registerDemoCommands } from './commands/demo-token.js';
import { DevConsortium } from './commands/dev-consortium.js';
import { registerExportCommand } from './commands/export.js';
import { registerImportCommand } from './commands/import-command.js';
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

/** The options of `careledger node start`, as commander parses them. */
interface NodeStartFlags {
  dir: string[];
  tlsCert?: string;
  tlsKey?: string;
  workers?: string;
  port?: string;
  host?: string;
  sequencerLeaseMs?: string;
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
          ...(dev.demoSupply === undefined
            ? []
            : [
                "Packs at the pharmacy (scan one: npx careledger supply verify '<DataMatrix>' --node <pharmacy> --identity Practitioner/pharmacist):",
                `  good             ${dev.demoSupply.goodPack.elementString}`,
                `  lot to recall    ${dev.demoSupply.recallPack.elementString}`,
                `  expired          ${dev.demoSupply.expiredPack.elementString}`,
                '',
              ]),
          ...(dev.demoResearch === undefined
            ? []
            : [
                `Studies (npx careledger research list): ${dev.demoResearch.openStudy.name} is open, approved by the hospital's ethics board;`,
                `  ${dev.demoResearch.proposedStudy.name} awaits the members' vote. Two of the hospital's patients are in the open study;`,
                '  the demo patient is in none until she joins (portal, or careledger research join).',
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
    .option(
      '--dir <dir>',
      'the node folder; repeat it to host several members in this one process (one worker each; the demo does this for its smaller members)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--workers <n>',
      'HTTP processes of this member, sharing its port and database (default: one per core). On SQLite a primary process sequences the log; on PostgreSQL (CARELEDGER_DATABASE_URL) every process, on this machine or others sharing the database, stands for election as the log sequencer through the database (decision 0022)',
    )
    .option(
      '--port <n>',
      "listen on this port instead of node.json's (several processes of one member on one machine)",
    )
    .option(
      '--host <address>',
      "listen on this IP address instead of node.json's host (each machine running processes of one member binds its own; decision 0026)",
    )
    .option(
      '--sequencer-lease-ms <ms>',
      'PostgreSQL only: how long the log sequencer lease lasts unrenewed; a dead sequencer is replaced after about this long (default 5000)',
    )
    .action(async (options: NodeStartFlags) => {
      if (options.dir.length === 0)
        throw new UsageError("node start: required option '--dir <dir>' not given");
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
        throw new UsageError('node start: give --tls-cert and --tls-key together');
      const hosted = options.dir.length > 1;
      if (
        hosted &&
        (options.tlsCert !== undefined || (options.workers !== undefined && options.workers !== '1'))
      )
        throw new UsageError(
          'node start: several --dir run one worker each, with the TLS settings of each node.json',
        );
      const workers = hosted
        ? 1
        : options.workers === undefined
          ? defaultWorkerCount()
          : parseWorkerCount(options.workers);
      const tls =
        options.tlsCert === undefined || options.tlsKey === undefined
          ? {}
          : { tls: { certFile: options.tlsCert, keyFile: options.tlsKey } };
      // Several members in one process share its runtime and the loaded FHIR definitions (about 150 MB
      // each otherwise); each keeps its own keys, database, port and log.
      const members: Awaited<ReturnType<typeof startMemberProcesses>>[] = [];
      const placement = {
        ...(options.port === undefined ? {} : { port: parseWholeOption('--port', options.port, 0, 65_535) }),
        ...(options.host === undefined ? {} : { host: parseBindAddress(options.host) }),
        ...(options.sequencerLeaseMs === undefined
          ? {}
          : {
              sequencerLeaseMs: parseWholeOption(
                '--sequencer-lease-ms',
                options.sequencerLeaseMs,
                100,
                600_000,
              ),
            }),
      };
      if (hosted && (placement.port !== undefined || placement.host !== undefined))
        throw new UsageError(
          'node start: --port and --host are for one --dir (each node.json names its own address)',
        );
      // They start side by side: their key derivations and chain reads overlap.
      const started = await Promise.allSettled(
        options.dir.map((dir) => startMemberProcesses(dir, { workers, ...tls, ...placement })),
      );
      for (const result of started) if (result.status === 'fulfilled') members.push(result.value);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed !== undefined) {
        await Promise.allSettled(members.map((m) => m.close()));
        throw failed.reason;
      }
      const running = { close: () => Promise.all(members.map((m) => m.close())).then(() => undefined) };
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
  registerSupplyCommands(program);
  registerResearchCommands(program);
  registerResearchReleaseCommands(program);
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
