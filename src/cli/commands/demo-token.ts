import { createHash, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { generateTotp } from '../../identity/index.js';
import { resolveDataDir } from '../data-dir.js';
import { type DemoUsers, loadDemoUsers } from './demo-users.js';

/**
 * A SMART App Launch run end to end for a demo account, as an app would: authorize with PKCE, sign in
 * with password and a TOTP code, redeem the code. For scripts and test suites driving the demo.
 */
export async function fetchDemoToken(
  users: DemoUsers,
  username: string,
  scope: string,
): Promise<Record<string, unknown>> {
  const account = users.accounts.find((a) => a.username === username);
  if (account === undefined) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `no demo account ${username} (have: ${users.accounts.map((a) => a.username).join(', ')})`,
    );
  }
  const base = users.fhirBaseUrl.replace(/\/fhir$/, '');
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = 'http://127.0.0.1:1/callback';
  const params = {
    response_type: 'code',
    client_id: users.smartClient.clientId,
    redirect_uri: redirectUri,
    scope,
    state: randomBytes(8).toString('hex'),
    aud: users.fhirBaseUrl,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  };
  const signIn = await fetch(`${base}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      ...params,
      username: account.username,
      password: account.password,
      totp: generateTotp(account.totpSecret, Date.now()),
    }).toString(),
  });
  const location = signIn.headers.get('location');
  const code = location === null ? null : new URL(location).searchParams.get('code');
  if (code === null) {
    const text = await signIn.text();
    const reason = /role="alert">([^<]*)</.exec(text)?.[1] ?? `HTTP ${signIn.status}`;
    throw new CareLedgerError('ERR_UNAUTHENTICATED', `sign-in refused: ${reason}`);
  }
  const token = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: users.smartClient.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.json()) as Record<string, unknown>;
  if (!token.ok)
    throw new CareLedgerError(
      'ERR_UNAUTHENTICATED',
      `token request refused: ${String(body.error_description ?? body.error)}`,
    );
  return body;
}

export function registerDemoCommands(program: Command): void {
  const demo = program.command('demo').description('helpers for the demo consortium of `careledger dev`');
  demo
    .command('token')
    .description(
      'sign a demo account in through SMART on FHIR (PKCE, password, TOTP) and print its access token',
    )
    .option('--user <username>', 'the demo account (see demo-users.json)', 'dr.grey')
    .option('--scope <scopes>', 'SMART scopes to ask for', 'openid fhirUser user/*.cruds')
    .option('--json', 'print the whole token response as JSON')
    .addHelpText(
      'after',
      `
A one-time code is used per sign-in, so two sign-ins of one account need 30 s between them.

Examples:
  $ TOKEN=$(careledger demo token)
  $ curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8701/fhir/Patient
  $ careledger demo token --user maria.rivera --scope 'launch/patient patient/*.rs' --json`,
    )
    .action(async (options: { user: string; scope: string; json?: boolean }) => {
      const users = loadDemoUsers(resolveDataDir(program.opts<{ dataDir?: string }>().dataDir));
      const body = await fetchDemoToken(users, options.user, options.scope);
      process.stdout.write(
        options.json === true ? `${JSON.stringify(body, null, 2)}\n` : `${String(body.access_token)}\n`,
      );
    });
}
