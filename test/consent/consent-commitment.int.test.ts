/**
 * Decision 0013 (issue 14 item 13): nothing on chain may reveal that a patient has a sensitive
 * condition. A grant of `hiv` and a grant of `laboratory` are relayed through the node's real path
 * (ConsortiumLedger → outbox → anvil); the raw chain (transaction calldata, event logs, contract storage
 * written) is read over RPC and must not tell them apart. Off chain, the opening is checked against the
 * commitment: a forged one is refused with its reason, a valid one enforces exactly its terms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, decodeFunctionData, type Hex, padHex, toHex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsentOpening,
  evaluateConsent,
  MemoryConsentOpeningStore,
  parseConsentOpening,
} from '../../src/consent/index.js';
import { isCareLedgerError } from '../../src/errors/index.js';
import {
  type ConsentDomain,
  type ConsentGrant,
  ConsortiumLedger,
  computeGrantId,
  computeTermsHash,
  consentRegistryAbi,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  type Deployment,
  encodeCategories,
  encodePurposes,
  Outbox,
} from '../../src/ledger/index.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { ChainIndexer } from '../../src/sync/index.js';
import { deployConsent, deployRegistry, memberInput } from '../contracts/fixtures.js';
import { anvilAccount, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';

const ORG_A = anvilAccount(0);
const ORG_B = anvilAccount(1);
const dir = mkdtempSync(join(tmpdir(), 'careledger-commitment-'));
let anvil: TestAnvil;
let deployment: Deployment;
let domain: ConsentDomain;
let ledger: ConsortiumLedger;
let outbox: Outbox;
let index: SqliteChainIndexStorage;
let indexer: ChainIndexer;

beforeAll(async () => {
  anvil = await startTestAnvil();
  const registry = await deployRegistry(
    anvil,
    ORG_A,
    [memberInput(ORG_A.address, 'a'), memberInput(ORG_B.address, 'b')],
    1,
  );
  const consentRegistry = await deployConsent(anvil, ORG_A, registry);
  deployment = {
    chainId: anvil.chain.id,
    contracts: { consortiumRegistry: registry, consentRegistry, checkpointAnchor: zeroAddress },
    deployBlock: 0,
    deployedAt: new Date(0).toISOString(),
  };
  domain = createConsentDomain(anvil.chain.id, consentRegistry);
  const db = openDatabase(join(dir, 'node.db'), [...outboxMigrations, ...chainIndexMigrations]);
  outbox = new Outbox({
    storage: new SqliteOutboxStorage(db),
    account: ORG_A,
    client: anvil.publicClient as never,
    chainId: anvil.chain.id,
  });
  outbox.start(50);
  ledger = new ConsortiumLedger(deployment, outbox);
  index = new SqliteChainIndexStorage(db);
  indexer = new ChainIndexer({ client: anvil.publicClient as never, storage: index, deployment });
}, 60_000);

afterAll(async () => {
  await outbox?.stop();
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh patient signs one grant to ORG_B; everything but the categories is alike. */
async function signedGrant(categories: string[]): Promise<ConsentOpening> {
  const patient = privateKeyToAccount(generatePrivateKey());
  const grant: ConsentGrant = {
    patient: patient.address,
    grantee: ORG_B.address,
    categories: encodeCategories(categories),
    purposes: encodePurposes(['TREAT']),
    salt: createGrantSalt(),
    notBefore: 1_000n,
    notAfter: 4_000_000_000n,
    nonce: 0n,
  };
  const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
  return { grant, signature, grantId: computeGrantId(domain, grant) };
}

/** The 32-byte words of ABI-encoded data (after the 4-byte selector, for calldata). */
function words(data: Hex, skipSelector = false): Hex[] {
  const body = data.slice(skipSelector ? 10 : 2);
  const out: Hex[] = [];
  for (let i = 0; i < body.length; i += 64) out.push(`0x${body.slice(i, i + 64)}`);
  return out;
}

/** Storage slots the transaction wrote in a contract (anvil's geth-style prestateTracer, diff mode). */
async function storageWritten(txHash: Hex, contract: Address): Promise<Record<string, Hex>> {
  const trace = (await anvil.publicClient.request({
    method: 'debug_traceTransaction' as never,
    params: [txHash, { tracer: 'prestateTracer', tracerConfig: { diffMode: true } }] as never,
  })) as { post: Record<string, { storage?: Record<string, Hex> }> };
  const entry = Object.entries(trace.post).find(
    ([address]) => address.toLowerCase() === contract.toLowerCase(),
  );
  return entry?.[1].storage ?? {};
}

interface Relayed {
  readonly opening: ConsentOpening;
  readonly input: Hex;
  readonly log: { topics: Hex[]; data: Hex };
  readonly storage: Record<string, Hex>;
}

async function relay(opening: ConsentOpening): Promise<Relayed> {
  const entry = await ledger.relayGrant(opening.grant, opening.signature);
  const done = await outbox.waitForConfirmation(entry.id, 30_000);
  expect(done.receiptStatus).toBe('success');
  const tx = await anvil.publicClient.getTransaction({ hash: entry.txHash });
  const logs = (await anvil.publicClient.request({
    method: 'eth_getLogs',
    params: [
      {
        address: deployment.contracts.consentRegistry,
        fromBlock: toHex(tx.blockNumber as bigint),
        toBlock: toHex(tx.blockNumber as bigint),
      },
    ],
  })) as { topics: Hex[]; data: Hex; transactionHash: Hex }[];
  const log = logs.find((l) => l.transactionHash === entry.txHash);
  if (log === undefined) throw new Error('no ConsentGranted log');
  return {
    opening,
    input: tx.input,
    log,
    storage: await storageWritten(entry.txHash, deployment.contracts.consentRegistry),
  };
}

describe('what the chain records of a grant (decision 0013)', () => {
  let hiv: Relayed;
  let lab: Relayed;

  beforeAll(async () => {
    hiv = await relay(await signedGrant(['hiv']));
    lab = await relay(await signedGrant(['laboratory']));
    await indexer.sync();
  }, 120_000);

  it('a grant of a sensitive category looks on chain like any other: calldata, logs and storage', async () => {
    const masks = [encodeCategories(['hiv']), encodeCategories(['laboratory'])].map((m) =>
      padHex(toHex(m), { size: 32 }),
    );
    for (const relayed of [hiv, lab]) {
      // Calldata is public forever: it carries the commitment, never the categories or purposes.
      const call = decodeFunctionData({ abi: consentRegistryAbi, data: relayed.input });
      expect(call.functionName).toBe('relayGrant');
      const relayedGrant = (call.args ?? [])[0] as { termsHash: Hex };
      expect(Object.keys(relayedGrant).sort()).toEqual(
        ['grantee', 'nonce', 'notAfter', 'notBefore', 'patient', 'termsHash'].sort(),
      );
      expect(relayedGrant.termsHash).toBe(computeTermsHash(relayed.opening.grant));
      for (const word of [
        ...words(relayed.input, true),
        ...words(relayed.log.data),
        ...relayed.log.topics,
        ...Object.values(relayed.storage),
      ]) {
        expect(masks).not.toContain(word);
      }
    }
    // The same shape: calldata and event of equal length, the same number of topics and storage slots.
    expect(hiv.input.length).toBe(lab.input.length);
    expect(hiv.log.data.length).toBe(lab.log.data.length);
    expect(hiv.log.topics.length).toBe(lab.log.topics.length);
    expect(Object.keys(hiv.storage).length).toBe(Object.keys(lab.storage).length);
    expect(Object.keys(hiv.storage).length).toBeGreaterThan(0);
    // Without the salt the commitment cannot be matched against guessed terms.
    const guessed = computeTermsHash({ ...hiv.opening.grant, salt: `0x${'00'.repeat(32)}` });
    expect((await index.grant(hiv.opening.grantId))?.termsHash).not.toBe(guessed);
  });

  it('refuses a forged opening (another salt, other categories) with its reason', async () => {
    const body = (opening: ConsentOpening, changes: Partial<ConsentGrant>) => ({
      grantId: opening.grantId,
      grant: Object.fromEntries(
        Object.entries({ ...opening.grant, ...changes }).map(([k, v]) => [k, String(v)]),
      ),
      signature: opening.signature,
    });
    for (const changes of [
      { salt: createGrantSalt() },
      { categories: encodeCategories(['hiv', 'mental-health']) },
      { categories: encodeCategories(['laboratory']) },
    ]) {
      const refused = await parseConsentOpening(body(hiv.opening, changes), domain).catch((e: unknown) => e);
      expect(isCareLedgerError(refused) && refused.details).toMatchObject({ reason: 'opening-mismatch' });
      expect((refused as Error).message).toBe("the terms do not open the grant's commitment");
    }
    const genuine = await parseConsentOpening(body(hiv.opening, {}), domain);
    expect(genuine.grantId).toBe(hiv.opening.grantId);

    // A forged opening that reached a node's store anyway (claiming the grant's id) grants nothing.
    const store = new MemoryConsentOpeningStore();
    const query = {
      patient: hiv.opening.grant.patient,
      grantee: ORG_B.address,
      category: encodeCategories(['hiv']),
      purpose: encodePurposes(['TREAT']),
      at: 2_000_000_000,
    };
    expect(await evaluateConsent(index, store, query)).toEqual({ allowed: false, reason: 'opening-missing' });
    await store.save({ ...hiv.opening, grant: { ...hiv.opening.grant, salt: createGrantSalt() } });
    expect(await evaluateConsent(index, store, query)).toEqual({
      allowed: false,
      reason: 'opening-mismatch',
    });
  });

  it('a valid opening enforces exactly its categories and purposes', async () => {
    const store = new MemoryConsentOpeningStore();
    await store.save(hiv.opening);
    const ask = (patient: Address, categories: string[], purposes = ['TREAT']) =>
      evaluateConsent(index, store, {
        patient,
        grantee: ORG_B.address,
        category: encodeCategories(categories),
        purpose: encodePurposes(purposes),
        at: 2_000_000_000,
      });
    const patient = hiv.opening.grant.patient;
    expect(await ask(patient, ['hiv'])).toEqual({
      allowed: true,
      grantId: hiv.opening.grantId,
      via: 'grantee',
    });
    expect(await ask(patient, ['laboratory'])).toEqual({ allowed: false, reason: 'not-covered' });
    expect(await ask(patient, ['hiv', 'mental-health'])).toEqual({ allowed: false, reason: 'not-covered' });
    expect(await ask(patient, ['hiv'], ['HRESCH'])).toEqual({ allowed: false, reason: 'not-covered' });
    // The other patient's grant is on chain too, but this store holds no opening of it.
    expect(await ask(lab.opening.grant.patient, ['laboratory'])).toEqual({
      allowed: false,
      reason: 'opening-missing',
    });
  });
});
