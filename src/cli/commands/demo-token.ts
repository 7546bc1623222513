import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  totpAt: number = Date.now(),
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
      totp: generateTotp(account.totpSecret, totpAt),
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

const TOTP_STEP_MS = 30_000;

/** The TOTP step (RFC 6238 §4.2, 30 s) holding `at`, in milliseconds since the epoch. */
function totpStep(at: number): number {
  return Math.floor(at / TOTP_STEP_MS);
}

/**
 * How long to wait before signing in again with a fresh one-time code: a node accepts each TOTP step
 * once per account (RFC 6238 §5.2), so after a sign-in in the current step the next one waits for the
 * next step. 0 when no sign-in from here used the current step.
 */
export function msUntilUnusedTotpStep(lastUsedStep: number | undefined, now: number): number {
  if (lastUsedStep === undefined || lastUsedStep < totpStep(now)) return 0;
  return (lastUsedStep + 1) * TOTP_STEP_MS - now;
}

export interface DemoSignInClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const systemClock: DemoSignInClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The TOTP step each demo account last signed in with from this data folder. */
function usedStepsFile(dataDir: string): string {
  return join(dataDir, 'run', 'demo-totp-steps.json');
}

function loadUsedSteps(dataDir: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(usedStepsFile(dataDir), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

function saveUsedStep(dataDir: string, username: string, step: number): void {
  const file = usedStepsFile(dataDir);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...loadUsedSteps(dataDir), [username]: step })}\n`);
}

/**
 * `fetchDemoToken` with a one-time code no earlier sign-in from this data folder used: a second sign-in
 * of an account within one 30 s step waits for the next step instead of being refused. If the step was
 * used elsewhere (the portal), the refusal is answered once by waiting for the next step.
 */
export async function signInDemoAccount(
  dataDir: string,
  users: DemoUsers,
  username: string,
  scope: string,
  clock: DemoSignInClock = systemClock,
  onWait: (ms: number) => void = () => undefined,
): Promise<Record<string, unknown>> {
  const waitForUnusedStep = async () => {
    const ms = msUntilUnusedTotpStep(loadUsedSteps(dataDir)[username], clock.now());
    if (ms > 0) {
      onWait(ms);
      await clock.sleep(ms);
    }
    const at = clock.now();
    saveUsedStep(dataDir, username, totpStep(at));
    return at;
  };
  try {
    return await fetchDemoToken(users, username, scope, await waitForUnusedStep());
  } catch (error) {
    if (!(error instanceof CareLedgerError && /one-time code/.test(error.message))) throw error;
    return fetchDemoToken(users, username, scope, await waitForUnusedStep());
  }
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
A one-time code is good once: a second sign-in of one account within 30 s waits for the next code.

Examples:
  $ TOKEN=$(careledger demo token)
  $ curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8701/fhir/Patient
  $ careledger demo token --user maria.rivera --scope 'launch/patient patient/*.rs' --json`,
    )
    .action(async (options: { user: string; scope: string; json?: boolean }) => {
      const dataDir = resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
      const users = loadDemoUsers(dataDir);
      const body = await signInDemoAccount(dataDir, users, options.user, options.scope, systemClock, (ms) =>
        process.stderr.write(
          `careledger: waiting ${Math.ceil(ms / 1000)} s for ${options.user}'s next one-time code (each is good once)\n`,
        ),
      );
      process.stdout.write(
        options.json === true ? `${JSON.stringify(body, null, 2)}\n` : `${String(body.access_token)}\n`,
      );
    });
}
