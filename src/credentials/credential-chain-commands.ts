/**
 * `careledger credential status|suspend|reinstate|revoke` against the chain's CredentialStatus
 * contract (decision 0018). Writes are signed by the board's ledger key (a 0x hex private key file).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Address, createPublicClient, createWalletClient, type Hex, http, isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { CareLedgerError } from '../errors/index.js';
import { credentialStatusAbi } from '../ledger/index.js';
import type { CommandOutput } from './command-output.js';
import { CredentialChainIndex, setStatusData } from './credential-ledger.js';
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

/** One status transaction by the board; resolves when it is mined. */
export async function runCredentialSetStatus(
  index: number,
  change: 'suspend' | 'reinstate' | 'revoke',
  options: ChainOptions & { readonly key: string },
  stdout: CommandOutput,
): Promise<void> {
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
  const data =
    change === 'revoke'
      ? setStatusData(index, 'revocation', true)
      : setStatusData(index, 'suspension', change === 'suspend');
  const hash = await wallet.sendTransaction({ to: contractOf(options), data });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.status !== 'success')
    throw new CareLedgerError('ERR_CHAIN_REVERTED', `${change} failed on the chain`);
  stdout.write(`${JSON.stringify({ ok: true, change, index, block: Number(receipt.blockNumber) })}\n`);
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
