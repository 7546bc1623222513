/**
 * A real anvil chain for integration tests: one per test file, started in beforeAll and stopped in
 * afterAll. Automine is on, so tests must send-then-wait one transaction at a time (LEDGER-FACTS:
 * pipelining against automine stalls mining).
 *
 * anvil is started with HOME pointing at a private temporary directory, so the cache it writes under
 * ~/.foundry/anvil/tmp is ours alone and is deleted with the directory, without touching the caches
 * of anvils that other test workers run at the same time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Abi,
  type Account,
  type Address,
  BaseError,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { resolveAnvilBinary } from '../../src/chain/index.js';
import { findFreePort } from './free-port.js';

// The binary itself, not the npm wrapper script: killing the wrapper would leave anvil running.
const ANVIL_BIN = resolveAnvilBinary();

/** The ten accounts of anvil's default mnemonic ("test test ... junk"), well known and public. */
export const ANVIL_PRIVATE_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
] as const satisfies readonly Hex[];

export const anvilAccounts: readonly PrivateKeyAccount[] = ANVIL_PRIVATE_KEYS.map((key) =>
  privateKeyToAccount(key),
);

export function anvilAccount(index: number): PrivateKeyAccount {
  const account = anvilAccounts[index];
  if (account === undefined) throw new Error(`anvil has no account ${index}`);
  return account;
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

export interface TestAnvil {
  readonly url: string;
  readonly chain: Chain;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly testClient: TestClient<'anvil', Transport, Chain>;
  walletClient(account: Account): WalletClient<Transport, Chain, Account>;
  /** Sends a contract write from `account`, waits for it, and fails on a reverted receipt. */
  write<const abi extends Abi, functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>>(
    account: Account,
    request: {
      address: Address;
      abi: abi;
      functionName: functionName;
      args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;
    },
  ): Promise<TransactionReceipt>;
  deploy(account: Account, request: { abi: Abi; bytecode: Hex; args?: readonly unknown[] }): Promise<Address>;
  /** Mines one block whose timestamp is `timestamp` (unix seconds). */
  mineAt(timestamp: bigint): Promise<void>;
  latestTimestamp(): Promise<bigint>;
  stop(): Promise<void>;
}

/** `args`: more anvil options (another chain id, a base fee, interval mining) for tests of chain independence. */
export async function startTestAnvil(options: { args?: readonly string[] } = {}): Promise<TestAnvil> {
  const home = mkdtempSync(join(tmpdir(), 'careledger-anvil-'));
  let child: ChildProcess | undefined;
  let url = '';
  let stderr = '';
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    const port = await findFreePort();
    url = `http://127.0.0.1:${port}`;
    const candidate = spawn(
      ANVIL_BIN,
      ['--host', '127.0.0.1', '--port', String(port), '--silent', ...(options.args ?? [])],
      {
        env: { ...process.env, HOME: home },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    // Keep the last few KB of stderr for the error message; an unread pipe could fill and block anvil.
    candidate.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    });
    let exited = false;
    candidate.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 20_000;
    while (!exited && Date.now() < deadline && !(await rpcAnswers(url))) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (!exited && Date.now() < deadline) child = candidate;
    else candidate.kill('SIGKILL');
  }
  if (child === undefined) {
    rmSync(home, { recursive: true, force: true });
    throw new Error(`anvil did not start: ${stderr}`);
  }
  const running = child;

  const transport = http(url, { retryCount: 0 });
  const publicClient = createPublicClient({ chain: foundry, transport });
  const testClient = createTestClient({ chain: foundry, mode: 'anvil', transport });
  const wallets = new Map<Address, WalletClient<Transport, Chain, Account>>();
  const walletClient = (account: Account) => {
    let wallet = wallets.get(account.address);
    if (wallet === undefined) {
      wallet = createWalletClient({ chain: foundry, transport, account });
      wallets.set(account.address, wallet);
    }
    return wallet;
  };

  const waitOk = async (hash: Hex): Promise<TransactionReceipt> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };

  return {
    url,
    chain: foundry,
    publicClient,
    testClient,
    walletClient,
    async write(account, request) {
      // biome-ignore lint/suspicious/noExplicitAny: viem's writeContract generics cannot follow the wrapper's.
      const hash = await walletClient(account).writeContract(request as any);
      return waitOk(hash);
    },
    async deploy(account, request) {
      const hash = await walletClient(account).deployContract({
        abi: request.abi,
        bytecode: request.bytecode,
        args: request.args ?? [],
      } as never);
      const receipt = await waitOk(hash);
      if (receipt.contractAddress == null) throw new Error('deployment has no contract address');
      return getAddress(receipt.contractAddress);
    },
    async mineAt(timestamp) {
      await testClient.setNextBlockTimestamp({ timestamp });
      await testClient.mine({ blocks: 1 });
    },
    async latestTimestamp() {
      return (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;
    },
    async stop() {
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once('exit', resolve));
        // SIGTERM lets anvil clean up after itself (about 2 s); SIGKILL if it hangs.
        running.kill('SIGTERM');
        const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `action` (a simulate/write/read that must revert) and returns the decoded custom error.
 * Throws if it does not revert with a decodable custom error.
 */
export async function captureRevert(
  action: () => Promise<unknown>,
): Promise<{ name: string; args: readonly unknown[] }> {
  try {
    await action();
  } catch (error) {
    if (error instanceof BaseError) {
      const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
      if (reverted instanceof ContractFunctionRevertedError && reverted.data !== undefined) {
        return { name: reverted.data.errorName, args: reverted.data.args ?? [] };
      }
    }
    throw error;
  }
  throw new Error('expected a revert, but the call succeeded');
}
