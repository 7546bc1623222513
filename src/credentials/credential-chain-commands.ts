/**
 * `careledger credential status|suspend|reinstate|revoke` against the chain's CredentialStatus
 * contract (decision 0018). Writes are signed by the board's ledger key (a 0x hex private key file).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JWK } from 'jose';
import { type Address, createPublicClient, createWalletClient, type Hex, http, isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { CareLedgerError } from '../errors/index.js';
import { credentialStatusAbi } from '../ledger/index.js';
import type { CommandOutput } from './command-output.js';
import {
  CredentialChainIndex,
  credentialHashOf,
  issuerKeyOnChain,
  recordCredentialData,
  registerIssuerKeyData,
  setStatusData,
} from './credential-ledger.js';
import { decodeCredentialJwt } from './vc-jwt.js';
import { verifyCredentialOnChain } from './verify-on-chain.js';

interface ChainOptions {
  readonly rpc: string;
  readonly contract: string;
}

function contractOf(options: ChainOptions): Address {
  if (!isAddress(options.contract))
    throw new CareLedgerError('ERR_INVALID_INPUT', '--contract must be an address');
  return options.contract;
}

/** Prints the licence's standing on the chain now: `{ok: true, ...}` or `{ok: false, reason}`. */
export async function runCredentialStatus(
  file: string,
  options: ChainOptions & { readonly now?: Date },
  stdout: CommandOutput,
): Promise<void> {
  const client = createPublicClient({ transport: http(options.rpc) });
  const address = contractOf(options);
  const registry = await client.readContract({ address, abi: credentialStatusAbi, functionName: 'registry' });
  const index = new CredentialChainIndex(client as never, address, registry);
  try {
    const credential = await verifyCredentialOnChain(readFileSync(file, 'utf8').trim(), {
      index,
      now: options.now ?? new Date(),
    });
    stdout.write(
      `${JSON.stringify({ ok: true, licenseNumber: credential.credentialSubject.licenseNumber })}\n`,
    );
  } catch (error) {
    const reason = (error as CareLedgerError).details?.reason;
    stdout.write(`${JSON.stringify({ ok: false, reason: reason ?? 'status-unavailable' })}\n`);
    throw error;
  }
}

/** Sends one transaction signed by the board's ledger key; resolves with its block when mined. */
async function boardTransaction(
  options: ChainOptions & { readonly key: string },
  data: Hex,
  what: string,
): Promise<number> {
  const account = privateKeyToAccount(readFileSync(options.key, 'utf8').trim() as Hex);
  const transport = http(options.rpc);
  const client = createPublicClient({ transport });
  const chainId = await client.getChainId();
  const chain = {
    id: chainId,
    name: 'careledger',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [options.rpc] } },
  };
  const wallet = createWalletClient({ account, chain, transport });
  const hash = await wallet.sendTransaction({ to: contractOf(options), data });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.status !== 'success')
    throw new CareLedgerError('ERR_CHAIN_REVERTED', `${what} failed on the chain`);
  return Number(receipt.blockNumber);
}

/**
 * The board records an issued credential on the ledger (decision 0028): what it says, under
 * keccak256 of the vc+jwt, so every member checks the practitioner from the chain.
 */
export async function runCredentialRecord(
  jwt: string,
  options: ChainOptions & { readonly key: string },
  stdout: CommandOutput,
): Promise<void> {
  const { credential } = decodeCredentialJwt(jwt.trim());
  const subject = credential.credentialSubject;
  const index = Number(credential.credentialStatus[0]?.statusListIndex);
  const subjectAccount = subject.id.split(':').at(-1) as Address;
  const data = recordCredentialData(credentialHashOf(jwt), {
    subject: subjectAccount,
    index,
    validFrom: Math.floor(Date.parse(credential.validFrom) / 1000),
    validUntil:
      credential.validUntil === undefined ? 2 ** 40 : Math.floor(Date.parse(credential.validUntil) / 1000),
    qualification: subject.qualification,
    licenseNumber: subject.licenseNumber,
    jurisdiction: subject.jurisdiction,
  });
  const block = await boardTransaction(options, data, 'recording the credential');
  stdout.write(`${JSON.stringify({ ok: true, recorded: credentialHashOf(jwt), index, block })}\n`);
}

/** The board proposes its issuer key; it signs credentials the consortium accepts once members voted. */
export async function runRegisterIssuerKey(
  options: ChainOptions & { readonly key: string; readonly issuerKey: string; readonly issuer: string },
  stdout: CommandOutput,
): Promise<void> {
  const jwk = JSON.parse(readFileSync(options.issuerKey, 'utf8')) as JWK;
  const onChain = await issuerKeyOnChain({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } as JWK);
  const block = await boardTransaction(
    options,
    registerIssuerKeyData(options.issuer, onChain),
    'the key proposal',
  );
  stdout.write(
    `${JSON.stringify({ ok: true, issuer: options.issuer, kid: onChain.kid, keyThumbprint: onChain.keyThumbprint, block })}\n`,
  );
}

/** One status transaction by the board; resolves when it is mined. */
export async function runCredentialSetStatus(
  index: number,
  change: 'suspend' | 'reinstate' | 'revoke',
  options: ChainOptions & { readonly key: string },
  stdout: CommandOutput,
): Promise<void> {
  const data =
    change === 'revoke'
      ? setStatusData(index, 'revocation', true)
      : setStatusData(index, 'suspension', change === 'suspend');
  const block = await boardTransaction(options, data, change);
  stdout.write(`${JSON.stringify({ ok: true, change, index, block })}\n`);
}

/** Adds status/suspend/reinstate/revoke under an existing `credential` command. */
export function registerCredentialChainCommands(
  credential: Command,
  io: { readonly stdout?: CommandOutput } = {},
): void {
  const out = () => io.stdout ?? process.stdout;
  credential
    .command('status')
    .description("a vc+jwt licence's standing on the chain (admitted board, key, revocation, suspension)")
    .argument('<file>', 'the vc+jwt')
    .requiredOption('--rpc <url>', 'the chain RPC URL')
    .requiredOption('--contract <address>', 'the CredentialStatus contract')
    .action(async (file: string, options: ChainOptions) => runCredentialStatus(file, options, out()));
  credential
    .command('register-key')
    .description(
      "propose the board's issuer key (active members then vote for it: /admin/credentials/issuer-keys/votes)",
    )
    .requiredOption('--issuer <id>', "the board's issuer id (the credentials' issuer URL or DID)")
    .requiredOption('--issuer-key <file>', "the board's ES256 key (JWK; only the public part is sent)")
    .requiredOption('--rpc <url>', 'the chain RPC URL')
    .requiredOption('--contract <address>', 'the CredentialStatus contract')
    .requiredOption('--key <file>', "the board's ledger private key (0x hex)")
    .action(async (options: ChainOptions & { key: string; issuerKey: string; issuer: string }) =>
      runRegisterIssuerKey(options, out()),
    );
  credential
    .command('record')
    .description('record an issued vc+jwt on the ledger (the board), so every member can check it')
    .argument('<file>', 'the vc+jwt')
    .requiredOption('--rpc <url>', 'the chain RPC URL')
    .requiredOption('--contract <address>', 'the CredentialStatus contract')
    .requiredOption('--key <file>', "the board's ledger private key (0x hex)")
    .action(async (file: string, options: ChainOptions & { key: string }) =>
      runCredentialRecord(readFileSync(file, 'utf8'), options, out()),
    );
  for (const change of ['suspend', 'reinstate', 'revoke'] as const) {
    credential
      .command(change)
      .description(`${change} the licence at a status-list index (one transaction by the board)`)
      .argument('<index>', 'the status-list index')
      .requiredOption('--rpc <url>', 'the chain RPC URL')
      .requiredOption('--contract <address>', 'the CredentialStatus contract')
      .requiredOption('--key <file>', "the board's ledger private key (0x hex)")
      .action(async (index: string, options: ChainOptions & { key: string }) =>
        runCredentialSetStatus(Number(index), change, options, out()),
      );
  }
}
