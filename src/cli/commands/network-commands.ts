import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getAddress, type Hex, isAddress } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import {
  consortiumGenesisFromMembers,
  loadConsortiumGenesis,
  parseGenesisMember,
} from '../../network/consortium-genesis.js';
import { deployConsortium } from '../../network/deploy-consortium.js';
import { initNetwork, writeValidatorKey } from '../../network/init-network.js';
import { initNode } from '../../network/init-node.js';
import { diagnoseNode } from '../../network/node-doctor.js';
import { parseQbftExtraData } from '../../network/qbft-extra-data.js';
import { loadNodeConfig, nodePaths } from '../../node/node-config.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { UsageError } from '../exit-codes.js';
import { requestJson } from '../http-json.js';

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const collect = (value: string, previous: string[] = []) => [...previous, value];

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, not ${value}`);
  return n;
}

function subcommand(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** `careledger network init|keygen`: a Besu QBFT validator network's files. */
function registerNetwork(program: Command): void {
  const network = program
    .command('network')
    .description('the consortium’s validator network (Hyperledger Besu, QBFT)');
  network
    .command('init')
    .description(
      'write a QBFT genesis and, per validator, Besu config, static nodes, permissioning, systemd unit and compose file',
    )
    .requiredOption('--out <dir>', 'a new (or empty) folder for the files')
    .option('--validators <n>', 'generate n validator keys here (staging: this machine then holds them all)')
    .option(
      '--public-keys <file>',
      'JSON [{"name","publicKey"}] of keys each organization made with `network keygen` (production)',
    )
    .option(
      '--hosts <ips>',
      'comma-separated P2P IP addresses of the validators, in order (default 10.0.0.11, …)',
    )
    .option(
      '--accounts <addresses>',
      'comma-separated accounts allowed to transact (deployer and member accounts)',
    )
    .option('--chain-id <id>', 'the chain id (never reuse one: consents are signed for it)', '2026')
    .option('--block-period <seconds>', 'QBFT block period', '2')
    .option('--besu-image <image>', 'container image in the compose files')
    .action(
      (options: {
        out: string;
        validators?: string;
        publicKeys?: string;
        hosts?: string;
        accounts?: string;
        chainId: string;
        blockPeriod: string;
        besuImage?: string;
      }) => {
        if (options.validators !== undefined && options.publicKeys !== undefined)
          throw new UsageError('give --validators <n> or --public-keys <file>, not both');
        let publicKeys: { name: string; publicKey: string }[] | undefined;
        if (options.publicKeys !== undefined) {
          if (!existsSync(options.publicKeys))
            throw new UsageError(`--public-keys ${options.publicKeys}: no such file`);
          publicKeys = JSON.parse(readFileSync(options.publicKeys, 'utf8')) as typeof publicKeys;
        }
        const result = initNetwork({
          out: options.out,
          chainId: positiveInt(options.chainId, '--chain-id'),
          ...(options.validators === undefined
            ? {}
            : { validators: positiveInt(options.validators, '--validators') }),
          ...(publicKeys === undefined ? {} : { publicKeys }),
          ...(options.hosts === undefined ? {} : { hosts: list(options.hosts) }),
          ...(options.accounts === undefined ? {} : { accounts: list(options.accounts) }),
          blockPeriodSeconds: positiveInt(options.blockPeriod, '--block-period'),
          ...(options.besuImage === undefined ? {} : { besuImage: options.besuImage }),
        });
        const lines = [
          `QBFT network for chain ${result.plan.chainId} written to ${options.out}:`,
          ...result.plan.validators.map((v) => `  ${v.name.padEnd(14)} ${v.address}  ${v.host}`),
          `  genesis.json, and per validator: config.toml, static-nodes.json, permissions_config.toml, besu.service, docker-compose.yml`,
        ];
        if (result.keyFiles.length > 0)
          lines.push(
            `  validator keys (0600): ${result.keyFiles.join(', ')}: move each to its host and delete the others`,
          );
        if (result.plan.accounts.length === 0)
          lines.push(
            '  account permissioning is OFF: add --accounts <deployer,member accounts> for production',
          );
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
  network
    .command('inspect')
    .description(
      'decode a QBFT genesis: chain id, validators from extraData, sha256 to compare with the other members',
    )
    .argument('<genesis>', 'genesis.json')
    .action((file: string) => {
      if (!existsSync(file)) throw new UsageError(`network inspect: ${file}: no such file`);
      const text = readFileSync(file, 'utf8');
      const genesis = JSON.parse(text) as { config?: { chainId?: number }; extraData?: Hex; alloc?: object };
      const decoded = parseQbftExtraData(genesis.extraData ?? '0x');
      process.stdout.write(
        `${JSON.stringify(
          {
            sha256: createHash('sha256').update(text).digest('hex'),
            chainId: genesis.config?.chainId,
            validators: decoded.validators,
            accounts: Object.keys(genesis.alloc ?? {}).map((a) => getAddress(`0x${a.replace(/^0x/, '')}`)),
          },
          null,
          2,
        )}\n`,
      );
    });
  network
    .command('keygen')
    .description(
      'generate this organization’s validator key (key 0600, key.pub) and print its address and public key',
    )
    .requiredOption('--out <dir>', 'folder for key and key.pub, e.g. /etc/besu')
    .action((options: { out: string }) => {
      const key = writeValidatorKey(options.out);
      process.stdout.write(
        `${JSON.stringify({ address: key.address, publicKey: key.publicKey }, null, 2)}\n`,
      );
    });
}

function registerChainDeploy(program: Command): void {
  subcommand(program, 'chain', 'the consortium ledger')
    .command('deploy')
    .description('deploy the consortium contracts once, on any EVM chain, and write the deployment record')
    .option('--rpc <url>', 'chain JSON-RPC URL (default $CARELEDGER_CHAIN_RPC_URL)')
    .option('--key-file <file>', 'the deployer account key, 0600 (default $CARELEDGER_CHAIN_KEY_FILE)')
    .option('--genesis <file>', 'consortium genesis: {"threshold": k, "members": [member.json, …]}')
    .option(
      '--member <file>',
      'a founding member’s member.json from `careledger node init` (repeat)',
      collect,
    )
    .option('--threshold <k>', 'votes needed to admit or remove a member, with --member')
    .option('--chain-id <id>', 'refuse unless the chain answers with this id')
    .requiredOption('--out <file>', 'where to write the deployment record (deployment.json)')
    .action(
      async (options: {
        rpc?: string;
        keyFile?: string;
        genesis?: string;
        member?: string[];
        threshold?: string;
        chainId?: string;
        out: string;
      }) => {
        const rpcUrl = options.rpc ?? process.env.CARELEDGER_CHAIN_RPC_URL;
        if (rpcUrl === undefined || rpcUrl === '')
          throw new UsageError('chain deploy: add --rpc <url> (or set $CARELEDGER_CHAIN_RPC_URL)');
        const keyFile = options.keyFile ?? process.env.CARELEDGER_CHAIN_KEY_FILE;
        if (keyFile === undefined || keyFile === '')
          throw new UsageError('chain deploy: add --key-file <file> (or set $CARELEDGER_CHAIN_KEY_FILE)');
        if ((options.genesis === undefined) === (options.member === undefined))
          throw new UsageError(
            'chain deploy: give --genesis <file>, or --member <file> (repeated) with --threshold <k>',
          );
        if (options.member !== undefined && options.threshold === undefined)
          throw new UsageError('chain deploy: add --threshold <k> to --member');
        const genesis =
          options.genesis !== undefined
            ? loadConsortiumGenesis(options.genesis)
            : consortiumGenesisFromMembers(
                options.member ?? [],
                positiveInt(options.threshold ?? '', '--threshold'),
              );
        const deployment = await deployConsortium({
          rpcUrl,
          keyFile,
          genesis,
          out: options.out,
          ...(options.chainId === undefined ? {} : { chainId: positiveInt(options.chainId, '--chain-id') }),
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(
          [
            `deployed on chain ${deployment.chainId} at block ${deployment.deployBlock} (k = ${genesis.threshold} of ${genesis.members.length} founding members):`,
            ...Object.entries(deployment.contracts).map(
              ([name, address]) => `  ${name.padEnd(20)} ${address}`,
            ),
            `record: ${options.out} (give every member this file; each node checks the chain against it at start)`,
            '',
          ].join('\n'),
        );
      },
    );
}

function registerNodeInitAndDoctor(program: Command): void {
  const node = subcommand(program, 'node', 'run one member node');
  node
    .command('init')
    .description(
      'set up a production member node folder: node.json, keys (0600), careledger.env; prints member.json',
    )
    .requiredOption('--dir <dir>', 'the node folder (e.g. /var/lib/careledger/node)')
    .requiredOption('--chain-rpc <url>', 'this organization’s own chain node (Besu JSON-RPC)')
    .requiredOption('--deployment <file>', 'the deployment record (may be written later by `chain deploy`)')
    .requiredOption('--name <name>', 'short name (lower-case, digits, dashes)')
    .requiredOption('--organization <name>', 'the organization’s display name, published on the ledger')
    .requiredOption(
      '--role <role>',
      'provider, lab, pharmacy, payer, research, manufacturer, distributor or licensing-board',
    )
    .requiredOption('--public-url <url>', 'the URL other members call (https://…)')
    .option(
      '--database <url>',
      'PostgreSQL URL (written to careledger.env as CARELEDGER_DATABASE_URL); default SQLite in the folder',
    )
    .option('--host <host>', 'listen address', '0.0.0.0')
    .option('--port <port>', 'listen port', '8700')
    .option('--chain-id <id>', 'default: from the deployment record, else asked of the chain')
    .option(
      '--keystore-passphrase-file <file>',
      'the vault keystore passphrase file (outside the folder, 0600)',
    )
    .option('--member-out <file>', 'also write this member’s entry to a file')
    .action(
      async (options: {
        dir: string;
        chainRpc: string;
        deployment: string;
        name: string;
        organization: string;
        role: string;
        publicUrl: string;
        database?: string;
        host: string;
        port: string;
        chainId?: string;
        keystorePassphraseFile?: string;
        memberOut?: string;
      }) => {
        const result = await initNode({
          dir: options.dir,
          name: options.name,
          organization: options.organization,
          role: options.role,
          publicUrl: options.publicUrl,
          chainRpc: options.chainRpc,
          deploymentFile: options.deployment,
          host: options.host,
          port: positiveInt(options.port, '--port'),
          ...(options.database === undefined ? {} : { databaseUrl: options.database }),
          ...(options.chainId === undefined ? {} : { chainId: positiveInt(options.chainId, '--chain-id') }),
          ...(options.keystorePassphraseFile === undefined
            ? {}
            : { keystorePassphraseFile: options.keystorePassphraseFile }),
        });
        const member = `${JSON.stringify(result.member, null, 2)}\n`;
        if (options.memberOut !== undefined) writeFileDurably(options.memberOut, member, 0o644);
        process.stderr.write(
          `node folder ready: ${options.dir} (member account ${result.member.account}); send member.json to the consortium\n`,
        );
        process.stdout.write(member);
      },
    );
  node
    .command('doctor')
    .description(
      'check a node folder: file modes, database, TLS certificate, chain, contracts, clock; says what to fix',
    )
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--tls-cert <file>', 'also check this certificate (as given to node start)')
    .option('--json', 'print JSON')
    .action(async (options: { dir: string; tlsCert?: string; json?: boolean }) => {
      const checks = await diagnoseNode(
        options.dir,
        options.tlsCert === undefined ? {} : { tlsCertFile: options.tlsCert },
      );
      const failed = checks.filter((c) => c.status === 'fail').length;
      if (options.json) process.stdout.write(`${JSON.stringify({ checks, failed }, null, 2)}\n`);
      else
        process.stdout.write(
          `${checks
            .map(
              (c) =>
                `${c.status.toUpperCase().padEnd(4)} ${c.check.padEnd(10)} ${c.message}${c.fix === undefined ? '' : `\n     ${''.padEnd(10)} fix: ${c.fix}`}`,
            )
            .join('\n')}\n${failed === 0 ? 'no failures' : `${failed} failure(s)`}\n`,
        );
      if (failed > 0) throw new CareLedgerError('ERR_CONFIG', `node doctor: ${failed} failure(s), see above`);
    });
}

/** The operator API of a member node: its URL and operator token, from its folder unless given. */
function operatorOf(options: { dir?: string; url?: string; tokenFile?: string }): {
  base: string;
  token: string;
} {
  if (options.dir === undefined && (options.url === undefined || options.tokenFile === undefined))
    throw new UsageError('add --dir <node folder>, or --url <node URL> with --token-file <file>');
  const url = options.url ?? loadNodeConfig(options.dir as string).publicUrl;
  const tokenFile = options.tokenFile ?? nodePaths(options.dir as string).adminToken;
  if (!existsSync(tokenFile)) throw new CareLedgerError('ERR_CONFIG', `no operator token at ${tokenFile}`);
  return { base: url.replace(/\/+$/, ''), token: readFileSync(tokenFile, 'utf8').trim() };
}

function registerMember(program: Command): void {
  const member = program
    .command('member')
    .description(
      'consortium membership: proposals and votes in ConsortiumRegistry, signed by this member’s node',
    );
  const withNode = (command: Command) =>
    command
      .option('--dir <dir>', 'this member’s node folder (URL and operator token from it)')
      .option('--url <url>', 'the node’s base URL, instead of --dir')
      .option('--token-file <file>', 'the node operator token, instead of --dir');
  withNode(member.command('propose'))
    .description('propose admitting a member (their member.json) or removing one; executes at once if k = 1')
    .option('--candidate <file>', 'admit: the candidate’s member.json from `careledger node init`')
    .option('--remove <account>', 'remove: the member account')
    .action(
      async (options: {
        dir?: string;
        url?: string;
        tokenFile?: string;
        candidate?: string;
        remove?: string;
      }) => {
        if ((options.candidate === undefined) === (options.remove === undefined))
          throw new UsageError('member propose: give --candidate <member.json> or --remove <account>');
        let path: string;
        let body: unknown;
        let what: string;
        if (options.candidate !== undefined) {
          if (!existsSync(options.candidate))
            throw new UsageError(`--candidate ${options.candidate}: no such file`);
          const candidate = parseGenesisMember(
            JSON.parse(readFileSync(options.candidate, 'utf8')),
            options.candidate,
          );
          [path, body, what] = [
            '/admin/members/proposals',
            candidate,
            `admit ${candidate.name} (${candidate.account})`,
          ];
        } else {
          if (!isAddress(options.remove as string, { strict: false }))
            throw new UsageError(`--remove ${options.remove}: not an account address`);
          [path, body, what] = [
            '/admin/members/removals',
            { account: options.remove },
            `remove ${options.remove}`,
          ];
        }
        const { base, token } = operatorOf(options);
        const result = await requestJson<{ proposalId: string | null; executed: boolean; txHash: string }>(
          `${base}${path}`,
          { body, token },
        );
        process.stdout.write(
          `${result.executed ? `done: ${what}` : `proposal ${result.proposalId}: ${what}; the other members vote with \`careledger member vote ${result.proposalId}\``} (tx ${result.txHash})\n`,
        );
      },
    );
  withNode(member.command('vote'))
    .description('vote for an open proposal; the vote that reaches k executes it')
    .argument('<proposal>', 'the proposal id')
    .action(async (proposal: string, options: { dir?: string; url?: string; tokenFile?: string }) => {
      if (!/^[0-9]{1,20}$/.test(proposal))
        throw new UsageError(`member vote: ${proposal} is not a proposal id`);
      const { base, token } = operatorOf(options);
      const result = await requestJson<{ txHash: string }>(
        `${base}/admin/members/proposals/${proposal}/votes`,
        {
          method: 'POST',
          token,
        },
      );
      process.stdout.write(`voted for proposal ${proposal} (tx ${result.txHash})\n`);
    });
}

/** The operator commands of a production consortium (issue 17): network, chain deploy, node init/doctor, member. */
export function registerNetworkCommands(program: Command): void {
  registerNetwork(program);
  registerChainDeploy(program);
  registerNodeInitAndDoctor(program);
  registerMember(program);
}
