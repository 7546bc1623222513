/**
 * `careledger claims submit|verify|dispute|settle|resolve|policy publish`. `verify` needs no node: it re-runs the
 * adjudication from the claim, the published policy and the payer's ClaimResponse, and checks all
 * three against ClaimsRegistry on the chain; a mismatch exits non-zero naming the first difference.
 */
import { readFileSync } from 'node:fs';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import {
  bytesToHex,
  createWalletClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  isHex,
  keccak256,
  type PublicClient,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createChainClient } from '../chain/index.js';
import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { MemberClient } from '../exchange/index.js';
import { type Deployment, loadDeployment } from '../ledger/index.js';
import { parseBenefitPolicy } from './benefit-policy.js';
import { ClaimsLedger } from './claims-ledger.js';
import { policyNamedBy, verifyClaimDecision } from './decision-record.js';
import { parseCents } from './money.js';

export interface CommandOutput {
  write(text: string): unknown;
}

type Fetch = typeof fetch;

function readJson<T>(path: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the ${what} file ${path}`, { cause });
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `the ${what} file ${path} is not JSON`, { cause });
  }
}

function readHexKey(path: string, what: string, bytes: number): Hex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the ${what} file ${path}`, { cause });
  }
  const hex = (text.startsWith('0x') ? text : `0x${text}`) as Hex;
  if (!isHex(hex) || hex.length !== 2 + bytes * 2)
    throw new CareLedgerError('ERR_CONFIG', `the ${what} file ${path} does not hold ${bytes} bytes of hex`);
  return hex;
}

async function call<T>(fetcher: Fetch, url: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetcher(url, init);
  } catch (cause) {
    throw new CareLedgerError('ERR_UPSTREAM', `${new URL(url).host} is unreachable`, { cause });
  }
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok) {
    const issue = (body?.issue as { diagnostics?: string }[] | undefined)?.[0]?.diagnostics;
    throw new CareLedgerError(
      response.status === 401 || response.status === 403 ? 'ERR_FORBIDDEN' : 'ERR_UPSTREAM',
      `the payer answered ${response.status}${issue === undefined ? '' : `: ${issue}`}`,
    );
  }
  return body as T;
}

/** The payer operator publishes a policy version (its node anchors it on ClaimsRegistry). */
export async function publishPolicy(options: {
  readonly url: string;
  readonly token: string;
  readonly file: string;
  readonly fetch?: Fetch;
}): Promise<{ version: string; sha256: string }> {
  return call((options.fetch ?? fetch) as Fetch, `${options.url.replace(/\/$/, '')}/admin/claims/policies`, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(readJson<unknown>(options.file, 'policy')),
  });
}

/** A non-negative amount in the policy currency ("12.50") as cents. */
function parseAmount(value: string, field: string): number {
  const cents = parseCents(value, field);
  if (cents < 0)
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} is negative`, {
      details: { reason: 'invalid-amount', field },
    });
  return cents;
}

function adminPost<T>(options: { url: string; token: string; fetch?: Fetch }, path: string, body: unknown) {
  return call<T>(
    (options.fetch ?? fetch) as Fetch,
    `${options.url.replace(/\/$/, '')}/admin/claims/${path}`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
  );
}

/** The payer operator records a payment to the provider for an anchored decision (amounts only). */
export async function settleClaim(options: {
  readonly url: string;
  readonly token: string;
  readonly claimCommitment: string;
  /** Decimal, in the policy currency ("12.50"). */
  readonly amount: string;
  readonly fetch?: Fetch;
}): Promise<{ recorded: boolean }> {
  return adminPost(options, 'settlements', {
    claimCommitment: options.claimCommitment,
    amountCents: parseAmount(options.amount, 'amount'),
  });
}

/** The payer operator resolves a disputed decision with the amount now due (the text's hash goes on chain). */
export async function resolveDispute(options: {
  readonly url: string;
  readonly token: string;
  readonly claimCommitment: string;
  readonly resolution: string;
  /** Decimal, in the policy currency ("0.00"). */
  readonly amountDue: string;
  readonly fetch?: Fetch;
}): Promise<{ recorded: boolean }> {
  return adminPost(options, 'dispute-resolutions', {
    claimCommitment: options.claimCommitment,
    resolution: options.resolution,
    amountDueCents: parseAmount(options.amountDue, 'amount due'),
  });
}

/**
 * A provider submits a Claim (or a Bundle with the Claim first) to a payer as a member system
 * (SMART Backend Services, the assertion signed by its ledger key), and gets the ClaimResponse and
 * the commitment key it shares with this payer (to verify decisions later).
 */
export async function submitClaim(options: {
  /** The payer's base URL (its FHIR base without /fhir). */
  readonly payerUrl: string;
  readonly ledgerKeyFile: string;
  readonly file: string;
  readonly fetch?: Fetch;
}): Promise<{ claimResponse: ClaimResponse; commitmentKey: string }> {
  const base = options.payerUrl.replace(/\/$/, '').replace(/\/fhir$/, '');
  const account = privateKeyToAccount(readHexKey(options.ledgerKeyFile, 'ledger key', 32));
  const fetcher = (options.fetch ?? fetch) as Fetch;
  const client = new MemberClient({
    member: { address: '', name: 'the payer', fhirBaseUrl: `${base}/fhir` },
    fetch: fetcher,
  });
  const token = await client.memberToken(
    {
      address: account.address,
      sign: async (hash) => hexToBytes(await account.sign({ hash: bytesToHex(hash) })),
    },
    { purpose: 'HPAYMT' },
  );
  const claimResponse = await call<ClaimResponse>(fetcher, `${base}/fhir/Claim/$submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(readJson<unknown>(options.file, 'claim')),
  });
  const { key } = await call<{ key: string }>(fetcher, `${base}/claims/commitment-key`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { claimResponse, commitmentKey: key };
}

function chainOf(rpcUrl: string, deploymentFile: string): { deployment: Deployment; client: PublicClient } {
  const deployment = loadDeployment(deploymentFile);
  return { deployment, client: createChainClient(rpcUrl, deployment.chainId) };
}

/**
 * Whether the payer followed its own rules for this claim: verifyClaimDecision against the chain's
 * record (the decision's commitment, the policy version's hash). Throws ERR_PRECONDITION_FAILED with
 * `details.reason` and `details.path` (the first difference).
 */
export async function verifyClaim(options: {
  readonly claimFile: string;
  readonly responseFile: string;
  readonly policyFile: string;
  readonly commitmentKeyFile: string;
  readonly rpcUrl: string;
  readonly deploymentFile: string;
}): Promise<{ claimCommitment: string; policyVersion: string }> {
  const claim = readJson<Claim>(options.claimFile, 'claim');
  const response = readJson<ClaimResponse>(options.responseFile, 'ClaimResponse');
  const policy = parseBenefitPolicy(readJson<unknown>(options.policyFile, 'policy'));
  const key = hexToBytes(readHexKey(options.commitmentKeyFile, 'commitment key', 32));
  const { deployment, client } = chainOf(options.rpcUrl, options.deploymentFile);
  const ledger = new ClaimsLedger(deployment, undefined, client);
  const version = policyNamedBy(response).version;
  const result = await verifyClaimDecision({
    claim,
    policy,
    response,
    commitmentKey: key,
    anchored: async (commitment) => {
      const decision = await ledger.decision(commitment);
      if (decision === undefined) return undefined;
      if (decision.policyVersionHash !== keccak256(toHex(version)))
        return { decisionCommitment: decision.decisionCommitment, policyHash: '' };
      const anchoredPolicy = await ledger.policy(decision.payer, version);
      return {
        decisionCommitment: decision.decisionCommitment,
        policyHash: anchoredPolicy?.policyHash ?? '',
      };
    },
  });
  return { ...result, policyVersion: version };
}

/** The provider disputes an anchored decision on chain, signing with its ledger key. */
export async function disputeClaim(options: {
  readonly claimCommitment: string;
  readonly reason: string;
  readonly ledgerKeyFile: string;
  readonly rpcUrl: string;
  readonly deploymentFile: string;
}): Promise<{ txHash: Hex }> {
  const account = privateKeyToAccount(readHexKey(options.ledgerKeyFile, 'ledger key', 32));
  const { deployment, client } = chainOf(options.rpcUrl, options.deploymentFile);
  const chain = defineChain({
    id: deployment.chainId,
    name: `careledger-${deployment.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const wallet = createWalletClient({ account, chain, transport: http(options.rpcUrl) });
  let txHash: Hex | undefined;
  const ledger = new ClaimsLedger(
    deployment,
    {
      submit: async ({ to, data }) => {
        // Simulated first, so a revert (not the provider of the decision, already disputed) is named.
        await client.call({ account: account.address, to, data });
        // As the outbox prices it: twice the base fee, so a zero-fee consortium chain needs no balance.
        const block = await client.getBlock({ blockTag: 'latest' });
        const gasPrice = block.baseFeePerGas === null ? await client.getGasPrice() : block.baseFeePerGas * 2n;
        txHash = await wallet.sendTransaction({ to, data, gasPrice, type: 'legacy' });
        const receipt = await client.waitForTransactionReceipt({ hash: txHash });
        if (receipt.status !== 'success')
          throw new CareLedgerError('ERR_CHAIN_REVERTED', 'the dispute reverted');
      },
    },
    client,
  );
  // The reasons stay off chain with the parties; their hash is the record.
  await ledger.dispute(options.claimCommitment, keccak256(toHex(options.reason)));
  return { txHash: txHash as Hex };
}

function failureLine(error: unknown): string {
  if (!isCareLedgerError(error)) throw error;
  const path = error.details.path === undefined ? '' : `; first difference at ${String(error.details.path)}`;
  return `NOT VERIFIED: ${error.message} (${String(error.details.reason ?? error.code)})${path}`;
}

export function registerClaimCommands(program: Command, out: CommandOutput = process.stdout): void {
  const claims = program.command('claims').description('insurance claims adjudicated by published rules');
  const chainOptions = (command: Command) =>
    command
      .requiredOption('--rpc-url <url>', 'chain RPC URL')
      .requiredOption('--deployment <file>', 'the consortium deployment record (deployment.json)');
  claims
    .command('submit <claim.json>')
    .description("submit a Claim to a payer's node as this member (prints the ClaimResponse)")
    .requiredOption('--payer <url>', "the payer node's base URL")
    .requiredOption('--ledger-key <file>', "this member's ledger key file")
    .action(async (file: string, o: { payer: string; ledgerKey: string }) => {
      const result = await submitClaim({ payerUrl: o.payer, ledgerKeyFile: o.ledgerKey, file });
      out.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  chainOptions(
    claims
      .command('verify')
      .description(
        're-run the adjudication and check it against the ledger; exit 65 with the first difference',
      )
      .requiredOption('--claim <file>', 'the Claim as submitted')
      .requiredOption('--response <file>', "the payer's ClaimResponse")
      .requiredOption('--policy <file>', 'the published policy JSON (GET /claims/policies/<version>)')
      .requiredOption('--key <file>', 'the commitment key shared with the payer (hex)'),
  ).action(
    async (o: {
      claim: string;
      response: string;
      policy: string;
      key: string;
      rpcUrl: string;
      deployment: string;
    }) => {
      try {
        const result = await verifyClaim({
          claimFile: o.claim,
          responseFile: o.response,
          policyFile: o.policy,
          commitmentKeyFile: o.key,
          rpcUrl: o.rpcUrl,
          deploymentFile: o.deployment,
        });
        out.write(
          `verified: the decision on claim ${result.claimCommitment} follows policy ${result.policyVersion}\n`,
        );
      } catch (error) {
        // Only a decision that does not hold up is "not verified"; a missing file or chain is an error.
        if (isCareLedgerError(error) && error.code === 'ERR_PRECONDITION_FAILED')
          out.write(`${failureLine(error)}\n`);
        throw error;
      }
    },
  );
  chainOptions(
    claims
      .command('dispute <claimCommitment>')
      .description('dispute an anchored decision on the ledger, as the provider')
      .requiredOption('--reason <text>', 'why (kept off chain; its hash is recorded)')
      .requiredOption('--ledger-key <file>', "this member's ledger key file"),
  ).action(
    async (
      commitment: string,
      o: { reason: string; ledgerKey: string; rpcUrl: string; deployment: string },
    ) => {
      const { txHash } = await disputeClaim({
        claimCommitment: commitment,
        reason: o.reason,
        ledgerKeyFile: o.ledgerKey,
        rpcUrl: o.rpcUrl,
        deploymentFile: o.deployment,
      });
      out.write(`disputed in transaction ${txHash}\n`);
    },
  );
  const operator = (command: Command) =>
    command
      .requiredOption('--url <url>', "the payer node's base URL")
      .requiredOption('--token-file <file>', "the node operator's token file");
  operator(
    claims
      .command('settle <claimCommitment>')
      .description('record a payment to the provider for an anchored decision, as the payer operator')
      .requiredOption('--amount <decimal>', 'the amount paid, in the policy currency (e.g. 12.50)'),
  ).action(async (commitment: string, o: { amount: string; url: string; tokenFile: string }) => {
    const token = readFileSync(o.tokenFile, 'utf8').trim();
    await settleClaim({ url: o.url, token, claimCommitment: commitment, amount: o.amount });
    out.write(`settlement of ${o.amount} for claim ${commitment} queued for the ledger\n`);
  });
  operator(
    claims
      .command('resolve <claimCommitment>')
      .description('resolve a disputed decision with the amount now due, as the payer operator')
      .requiredOption('--resolution <text>', 'the resolution (kept off chain; its hash is recorded)')
      .requiredOption('--amount-due <decimal>', 'the amount now due, in the policy currency (e.g. 0.00)'),
  ).action(
    async (
      commitment: string,
      o: { resolution: string; amountDue: string; url: string; tokenFile: string },
    ) => {
      const token = readFileSync(o.tokenFile, 'utf8').trim();
      await resolveDispute({
        url: o.url,
        token,
        claimCommitment: commitment,
        resolution: o.resolution,
        amountDue: o.amountDue,
      });
      out.write(`resolution of claim ${commitment} queued for the ledger\n`);
    },
  );
  claims
    .command('policy')
    .description('benefit policies')
    .command('publish <policy.json>')
    .description("publish a policy version at this payer's node (refused if it does not parse)")
    .requiredOption('--url <url>', "the payer node's base URL")
    .requiredOption('--token-file <file>', "the node operator's token file")
    .action(async (file: string, o: { url: string; tokenFile: string }) => {
      const token = readFileSync(o.tokenFile, 'utf8').trim();
      const result = await publishPolicy({ url: o.url, token, file });
      out.write(`published policy ${result.version} (sha256 ${result.sha256})\n`);
    });
}
