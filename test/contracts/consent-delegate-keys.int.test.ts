/**
 * Decision 0021 on the contract: a proxy or guardian is registered only as a delegate key of the ward's
 * own (its DelegateKey acceptance signed by that key), bound to that one ward for good, never an address
 * with another role; a grant it signs holds only while its delegation does; and nothing the chain holds
 * (calldata, logs, state) names the guardian's own account.
 */
import { type Address, type Hex, parseEventLogs } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardDelegate } from '../../src/consent/index.js';
import { encodeCategories, encodePurposes } from '../../src/ledger/codes.js';
import { consentRegistryAbi, consortiumRegistryAbi } from '../../src/ledger/contracts.generated.js';
import {
  type ConsentDomain,
  type ConsentGrant,
  computeGrantId,
  createConsentDomain,
  createDelegateKeyTypedData,
  createDelegationTypedData,
  createGrantTypedData,
  toGrantCommitment,
} from '../../src/ledger/eip712.js';
import { findOnChain, readChainContents } from '../support/chain-scan.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { deployConsent, deployRegistry, memberInput } from './fixtures.js';

const abi = consentRegistryAbi;
const ORG_A = anvilAccount(0);
const ORG_B = anvilAccount(1);
const PRACTITIONER = anvilAccount(3);
const FAR = 10n ** 12n;

let anvil: TestAnvil;
let registry: Address;

beforeAll(async () => {
  anvil = await startTestAnvil();
  registry = await deployRegistry(
    anvil,
    ORG_A,
    [memberInput(ORG_A.address, 'a'), memberInput(ORG_B.address, 'b')],
    1,
  );
  await anvil.write(ORG_A, {
    address: registry,
    abi: consortiumRegistryAbi,
    functionName: 'attestPractitioner',
    args: [PRACTITIONER.address, `0x${'11'.repeat(32)}`, 'MD', 4_000_000_000n],
  });
});

afterAll(async () => {
  await anvil?.stop();
});

async function setup() {
  const consent = await deployConsent(anvil, ORG_A, registry);
  const domain = createConsentDomain(anvil.chain.id, consent);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    anvil.publicClient.readContract({ address: consent, abi, functionName, args } as never) as Promise<T>;
  const write = (functionName: string, args: readonly unknown[], account = ORG_A) =>
    anvil.write(account, { address: consent, abi, functionName, args } as never);
  const revert = (functionName: string, args: readonly unknown[]) =>
    captureRevert(() =>
      anvil.publicClient.simulateContract({
        account: ORG_A,
        address: consent,
        abi,
        functionName,
        args,
      } as never),
    );
  return { consent, domain, read, write, revert };
}

const accept = (domain: ConsentDomain, ward: Address, key: PrivateKeyAccount) =>
  key.signTypedData(createDelegateKeyTypedData(domain, { ward, delegate: key.address }));

function grantFor(patient: Address, nonce: bigint): ConsentGrant {
  return {
    patient,
    grantee: ORG_B.address,
    categories: encodeCategories(['laboratory']),
    purposes: encodePurposes(['TREAT']),
    salt: `0x${'5a'.repeat(32)}`,
    notBefore: 0n,
    notAfter: FAR,
    nonce,
  };
}

async function relayGrant(
  write: (f: string, a: readonly unknown[]) => Promise<unknown>,
  domain: ConsentDomain,
  grant: ConsentGrant,
  signer: PrivateKeyAccount,
) {
  return write('relayGrant', [
    toGrantCommitment(grant),
    await signer.signTypedData(createGrantTypedData(domain, grant)),
  ]);
}

describe('ConsentRegistry delegate keys (decision 0021)', () => {
  it('refuses a delegate whose acceptance is forged, names another ward, or is missing, saying which key', async () => {
    const { domain, revert } = await setup();
    const ward = privateKeyToAccount(generatePrivateKey()).address;
    const key = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const forged = await other.signTypedData(
      createDelegateKeyTypedData(domain, { ward, delegate: key.address }),
    );
    const forAnotherWard = await accept(domain, other.address, key);
    for (const signature of [forged, forAnotherWard, '0x' as Hex, `0x${'00'.repeat(65)}` as Hex]) {
      expect(await revert('attestGuardian', [ward, key.address, 0n, FAR, signature])).toEqual({
        name: 'InvalidDelegateSignature',
        args: [key.address],
      });
    }
  });

  it("shows one guardian's two wards beside two unrelated addresses, and each key serves its ward only", async () => {
    const { domain, read, write, revert } = await setup();
    const guardianOwnKey = generatePrivateKey();
    const wardA = privateKeyToAccount(generatePrivateKey()).address;
    const wardB = privateKeyToAccount(generatePrivateKey()).address;
    const forA = await createWardDelegate(guardianOwnKey, wardA, domain);
    const forB = await createWardDelegate(guardianOwnKey, wardB, domain);
    expect(forA.delegate).not.toBe(forB.delegate);
    expect([forA.delegate, forB.delegate]).not.toContain(privateKeyToAccount(guardianOwnKey).address);

    await write('attestGuardian', [wardA, forA.delegate, 0n, FAR, forA.delegateSignature]);
    await write('attestGuardian', [wardB, forB.delegate, 0n, FAR, forB.delegateSignature]);
    expect(await read('wardOf', [forA.delegate])).toBe(wardA);
    expect(await read('wardOf', [forB.delegate])).toBe(wardB);
    // The key for A cannot be registered for B (it would link the two wards), even with a valid acceptance.
    const keyA = privateKeyToAccount(forA.key);
    expect(
      await revert('attestGuardian', [wardB, keyA.address, 0n, FAR, await accept(domain, wardB, keyA)]),
    ).toEqual({ name: 'DelegateKeyInUse', args: [keyA.address] });
    // Renewing the same ward's key is fine.
    await write('attestGuardian', [wardA, forA.delegate, 0n, FAR - 1n, forA.delegateSignature]);

    // Each signs for its own ward; a delegate key never signs as a patient in its own name.
    await relayGrant(write, domain, grantFor(wardA, 0n), keyA);
    await relayGrant(write, domain, grantFor(wardB, 0n), privateKeyToAccount(forB.key));
    expect(await revert('relayGrant', [toGrantCommitment(grantFor(keyA.address, 0n)), '0x'])).toEqual({
      name: 'DelegateKeyInUse',
      args: [keyA.address],
    });
    // A delegate key is not a ward either.
    const someone = privateKeyToAccount(generatePrivateKey());
    expect(
      await revert('attestGuardian', [
        keyA.address,
        someone.address,
        0n,
        FAR,
        await accept(domain, keyA.address, someone),
      ]),
    ).toEqual({ name: 'DelegateKeyInUse', args: [keyA.address] });
  });

  it('refuses as a delegate an address with another role: a patient, a ward, a member, a practitioner', async () => {
    const { domain, write, revert } = await setup();
    const ward = privateKeyToAccount(generatePrivateKey()).address;
    // A guardian who is a patient themself, and signed a grant with their own key.
    const guardianAsPatient = privateKeyToAccount(generatePrivateKey());
    await relayGrant(write, domain, grantFor(guardianAsPatient.address, 0n), guardianAsPatient);
    // Another ward.
    const otherWard = privateKeyToAccount(generatePrivateKey());
    const otherKey = privateKeyToAccount(generatePrivateKey());
    await write('attestGuardian', [
      otherWard.address,
      otherKey.address,
      0n,
      FAR,
      await accept(domain, otherWard.address, otherKey),
    ]);
    for (const account of [guardianAsPatient, otherWard, ORG_B, PRACTITIONER]) {
      expect(
        await revert('attestGuardian', [ward, account.address, 0n, FAR, await accept(domain, ward, account)]),
        account.address,
      ).toEqual({ name: 'DelegateKeyInUse', args: [account.address] });
    }
    // The same holds for a proxy the patient appoints.
    const patient = privateKeyToAccount(generatePrivateKey());
    const delegation = {
      patient: patient.address,
      delegate: guardianAsPatient.address,
      notBefore: 0n,
      notAfter: FAR,
      nonce: 0n,
    };
    expect(
      await revert('relayDelegation', [
        delegation,
        await patient.signTypedData(createDelegationTypedData(domain, delegation)),
        await accept(domain, patient.address, guardianAsPatient),
      ]),
    ).toEqual({ name: 'DelegateKeyInUse', args: [guardianAsPatient.address] });
  });

  it('ends a revoked delegation with an event: its grants stop holding and later ones fail', async () => {
    const { domain, read, write, revert } = await setup();
    const ward = privateKeyToAccount(generatePrivateKey()).address;
    const delegate = await createWardDelegate(generatePrivateKey(), ward, domain);
    const key = privateKeyToAccount(delegate.key);
    const registered = await write('attestGuardian', [
      ward,
      delegate.delegate,
      0n,
      FAR,
      delegate.delegateSignature,
    ]);
    const delegationId = parseEventLogs({ abi, logs: registered.logs, eventName: 'DelegationRegistered' })[0]
      ?.args.delegationId as Hex;
    const grant = grantFor(ward, 0n);
    await relayGrant(write, domain, grant, key);
    const grantId = computeGrantId(domain, grant);
    expect(await read('isGrantInForce', [grantId, ORG_B.address, 100n])).toBe(true);

    const revoked = await write('revokeDelegation', [
      delegationId,
      { patient: ward, grantId: delegationId, nonce: 0n },
      '0x',
    ]);
    expect(parseEventLogs({ abi, logs: revoked.logs, eventName: 'DelegationRevoked' })[0]?.args).toEqual({
      delegationId,
      patient: ward,
      delegate: delegate.delegate,
    });
    expect(await read('isGrantInForce', [grantId, ORG_B.address, 100n])).toBe(false);
    const later = grantFor(ward, 1n);
    expect(
      await revert('relayGrant', [
        toGrantCommitment(later),
        await key.signTypedData(createGrantTypedData(domain, later)),
      ]),
    ).toEqual({ name: 'InvalidSignature', args: [] });
  });

  it("keeps the guardian's own account out of everything the chain holds: calldata, logs and state", async () => {
    const { domain, write } = await setup();
    const guardianOwnKey = generatePrivateKey();
    const guardian = privateKeyToAccount(guardianOwnKey).address;
    const wards = [generatePrivateKey(), generatePrivateKey()].map((k) => privateKeyToAccount(k).address);
    const delegates: Address[] = [];
    for (const ward of wards) {
      const d = await createWardDelegate(guardianOwnKey, ward, domain);
      delegates.push(d.delegate);
      await write('attestGuardian', [ward, d.delegate, 0n, FAR, d.delegateSignature]);
      await relayGrant(write, domain, grantFor(ward, 0n), privateKeyToAccount(d.key));
    }
    const contents = await readChainContents(anvil.url);
    expect(findOnChain(contents, guardian)).toEqual([]);
    // The scan does see what is there: each ward's delegate, and only beside that ward.
    for (const d of delegates) expect(findOnChain(contents, d).length).toBeGreaterThan(1);
  });
});
