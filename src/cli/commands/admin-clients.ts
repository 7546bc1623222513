import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { OAuthClient } from '../../auth/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { loadNodeConfig, nodePaths } from '../../node/node-config.js';
import { nodeDir, resolveDataDir } from '../data-dir.js';
import { requestJson } from '../http-json.js';

export interface OperatorTarget {
  readonly dataDir: string;
  /** The member node's folder name under the data dir (default hospital). */
  readonly node: string;
  readonly url?: string;
  readonly tokenFile?: string;
}

/** The node's base URL and operator token, from its folder unless given. */
function operator(target: OperatorTarget): { base: string; token: string } {
  const dir = nodeDir(target.dataDir, target.node);
  let url = target.url;
  let tokenFile = target.tokenFile;
  if (url === undefined || tokenFile === undefined) {
    if (!existsSync(dir)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `no node "${target.node}" under ${target.dataDir}; pass --url and --token-file`,
      );
    }
    url ??= loadNodeConfig(dir).publicUrl;
    tokenFile ??= nodePaths(dir).adminToken;
  }
  return { base: url.replace(/\/$/, ''), token: readFileSync(tokenFile, 'utf8').trim() };
}

export async function listClients(target: OperatorTarget, pending: boolean): Promise<OAuthClient[]> {
  const { base, token } = operator(target);
  const { clients } = await requestJson<{ clients: OAuthClient[] }>(
    `${base}/admin/clients${pending ? '?status=pending' : ''}`,
    { token },
  );
  return clients;
}

export async function approveClient(target: OperatorTarget, clientId: string): Promise<OAuthClient> {
  const { base, token } = operator(target);
  return requestJson(`${base}/admin/clients/${encodeURIComponent(clientId)}/approve`, {
    method: 'POST',
    token,
  });
}

export async function rejectClient(target: OperatorTarget, clientId: string): Promise<void> {
  const { base, token } = operator(target);
  await requestJson(`${base}/admin/clients/${encodeURIComponent(clientId)}`, { method: 'DELETE', token });
}

export async function unlockSignIn(target: OperatorTarget, username: string): Promise<void> {
  const { base, token } = operator(target);
  await requestJson(`${base}/admin/users/${encodeURIComponent(username)}/unlock`, { method: 'POST', token });
}

const describeClient = (c: OAuthClient) =>
  `${c.clientId}  ${c.status ?? 'approved'}  ${JSON.stringify(c.name)}  ${c.redirectUris
    .map((u) => new URL(u).host)
    .join(', ')}  (${c.registeredVia ?? 'operator'})`;

/** `careledger clients …` and `careledger users unlock`: the operator's review of apps and lockouts. */
export function registerAdminClientCommands(program: Command): void {
  const target = (options: { node: string; url?: string; tokenFile?: string }): OperatorTarget => ({
    dataDir: resolveDataDir(program.opts<{ dataDir?: string }>().dataDir),
    node: options.node,
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
  });
  const withNode = (command: Command) =>
    command
      .option('--node <name>', 'the member node (its folder under the data dir)', 'hospital')
      .option('--url <url>', "the node's base URL (default: from its node.json)")
      .option('--token-file <file>', "the node operator's token (default: the node folder's admin.token)");

  const clients = program
    .command('clients')
    .description('OAuth clients at a member node: self-registered apps wait for your approval');
  withNode(
    clients.command('list').description('list registered apps').option('--pending', 'only those waiting'),
  )
    .option('--json', 'print JSON')
    .action(
      async (options: {
        node: string;
        url?: string;
        tokenFile?: string;
        pending?: boolean;
        json?: boolean;
      }) => {
        const list = await listClients(target(options), options.pending === true);
        process.stdout.write(
          options.json === true ? `${JSON.stringify(list)}\n` : `${list.map(describeClient).join('\n')}\n`,
        );
      },
    );
  withNode(
    clients
      .command('approve')
      .description('approve a self-registered app: check its name and the hosts it redirects to first')
      .argument('<client-id>'),
  ).action(async (clientId: string, options: { node: string; url?: string; tokenFile?: string }) => {
    process.stdout.write(`${describeClient(await approveClient(target(options), clientId))}\n`);
  });
  withNode(
    clients.command('reject').description('remove a pending (or approved) app').argument('<client-id>'),
  ).action(async (clientId: string, options: { node: string; url?: string; tokenFile?: string }) => {
    await rejectClient(target(options), clientId);
    process.stdout.write(`${clientId} removed\n`);
  });

  const users = program.command('users').description("a member node's sign-in accounts");
  withNode(
    users
      .command('unlock')
      .description('lift a sign-in lockout (after 100 consecutive failures only the operator can)')
      .argument('<username>'),
  ).action(async (username: string, options: { node: string; url?: string; tokenFile?: string }) => {
    await unlockSignIn(target(options), username);
    process.stdout.write(`${username}: sign-in unlocked\n`);
  });
}
