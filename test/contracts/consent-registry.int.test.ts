import fc from 'fast-check';
import { type Address, domainSeparator, type Hex, parseEventLogs, zeroAddress } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCategories, encodePurposes } from '../../src/ledger/codes.js';
import { consentRegistryAbi, consortiumRegistryAbi } from '../../src/ledger/contracts.generated.js';
import {
  type ConsentDomain,
  type ConsentGrant,
  computeDelegationId,
  computeGrantId,
  computeRevokeDigest,
  createConsentDomain,
  createDelegateKeyTypedData,
  createDelegationTypedData,
  createGrantTypedData,
  createRevokeTypedData,
  toGrantCommitment,
} from '../../src/ledger/eip712.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { deployConsent, deployRegistry, memberInput } from './fixtures.js';

const abi = consentRegistryAbi;
const ORG_A = anvilAccount(0);
const ORG_B = anvilAccount(1);
const OUTSIDER = anvilAccount(2);
const PRACTITIONER = anvilAccount(3);
const PATIENT = anvilAccount(7);
const OTHER_PATIENT = anvilAccount(8);
const MALLORY = anvilAccount(9);

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const DAY = 86_400n;

let anvil: TestAnvil;
let registry: Address;
/** Fixed (year 2096) so property-test arbitraries, built before beforeAll runs, can use it. */
const practitionerExpiresAt = 4_000_000_000n;

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
    args: [PRACTITIONER.address, `0x${'11'.repeat(32)}`, 'MD', practitionerExpiresAt],
  });
});

afterAll(async () => {
  await anvil?.stop();
});

async function setup() {
  const consent = await deployConsent(anvil, ORG_A, registry);
  const domain = createConsentDomain(anvil.chain.id, consent);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    anvil.publicClient.readContract({
      address: consent,
      abi,
      functionName,
      args: onChain(args),
    } as never) as Promise<T>;
  const write = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
    anvil.write(account, { address: consent, abi, functionName, args: onChain(args) } as never);
  const revert = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
    captureRevert(() =>
      anvil.publicClient.simulateContract({
        account,
        address: consent,
        abi,
        functionName,
        args: onChain(args),
      } as never),
    );
  return { consent, domain, read, write, revert };
}

/** A signed grant goes to the chain as its commitment (decision 0013): terms replaced by their hash. */
function onChain(args: readonly unknown[]): readonly unknown[] {
  return args.map((arg) =>
    typeof arg === 'object' && arg !== null && 'categories' in arg && 'salt' in arg
      ? toGrantCommitment(arg as ConsentGrant)
      : arg,
  );
}

/**
 * Whether a grant of the patient permits the request: on chain, the grant is in force for the grantee
 * (ConsentRegistry.isGrantInForce); off chain, its opening's terms cover every asked bit. This is how a
 * node decides (src/consent/evaluate-consent.ts), split where decision 0013 splits it.
 */
async function permitted(
  read: <T>(functionName: string, args?: readonly unknown[]) => Promise<T>,
  opened: readonly { grantId: Hex; categories: bigint; purposes: bigint }[],
  grantee: Address,
  category: bigint,
  purpose: bigint,
  at: bigint,
): Promise<boolean> {
  if (category === 0n || purpose === 0n) return false;
  for (const g of opened) {
    if ((g.categories & category) !== category || (g.purposes & purpose) !== purpose) continue;
    if (await read<boolean>('isGrantInForce', [g.grantId, grantee, at])) return true;
  }
  return false;
}

function grantOf(overrides: Partial<ConsentGrant> = {}): ConsentGrant {
  return {
    patient: PATIENT.address,
    grantee: ORG_B.address,
    categories: encodeCategories(['medications', 'allergies']),
    purposes: encodePurposes(['TREAT']),
    salt: `0x${'5a'.repeat(32)}`,
    notBefore: 1_000n,
    notAfter: 2_000n,
    nonce: 0n,
    ...overrides,
  };
}

function signGrant(
  domain: ConsentDomain,
  grant: ConsentGrant,
  signer: PrivateKeyAccount = PATIENT,
): Promise<Hex> {
  return signer.signTypedData(createGrantTypedData(domain, grant));
}

function signRevoke(domain: ConsentDomain, grantId: Hex, nonce: bigint, signer: PrivateKeyAccount = PATIENT) {
  return signer.signTypedData(createRevokeTypedData(domain, { patient: signer.address, grantId, nonce }));
}

/** The malleable twin (r, n - s, v ^ 1) of a signature: valid for ecrecover, rejected by EIP-2. */
function highS(signature: Hex): Hex {
  const r = signature.slice(2, 66);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  const twin = (SECP256K1_N - s).toString(16).padStart(64, '0');
  return `0x${r}${twin}${(v === 27 ? 28 : 27).toString(16)}`;
}

describe('ConsentRegistry EIP-712', () => {
  it('publishes the domain viem signs with (EIP-5267) and the same domain separator', async () => {
    const { consent, domain, read } = await setup();
    const published = await anvil.publicClient.getEip712Domain({ address: consent });
    expect(published.domain).toEqual({ ...domain, salt: `0x${'00'.repeat(32)}` });
    expect(await read<Hex>('domainSeparator')).toBe(domainSeparator({ domain }));
  });

  it('accepts a grant signed with signTypedData and assigns the TypeScript grantId', async () => {
    const { consent, domain, read, write } = await setup();
    const grant = grantOf();
    const signature = await signGrant(domain, grant);
    const expectedId = computeGrantId(domain, grant);
    expect(await read<Hex>('hashGrant', [grant])).toBe(expectedId);

    const { result } = await anvil.publicClient.simulateContract({
      account: ORG_A,
      address: consent,
      abi,
      functionName: 'relayGrant',
      args: [toGrantCommitment(grant), signature],
    });
    expect(result).toBe(expectedId);

    const receipt = await write(ORG_A, 'relayGrant', [grant, signature]);
    const block = await anvil.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    expect(
      parseEventLogs({ abi, logs: receipt.logs, eventName: 'ConsentGranted' }).map((l) => l.args),
    ).toEqual([{ grantId: expectedId, ...toGrantCommitment(grant), relayer: ORG_A.address }]);
    expect(await read('getGrant', [expectedId])).toEqual({
      grant: toGrantCommitment(grant),
      relayer: ORG_A.address,
      grantedAt: block.timestamp,
      revoked: false,
      revokedAt: 0n,
      signedBy: zeroAddress,
    });
    expect(await read('grantsOf', [PATIENT.address])).toEqual([expectedId]);
    expect(await read('nonces', [PATIENT.address])).toBe(1n);
    expect(await read('nonces', [OTHER_PATIENT.address])).toBe(0n);
  });

  it('rejects signatures that are not the patient’s', async () => {
    const { domain, revert } = await setup();
    const grant = grantOf();
    const good = await signGrant(domain, grant);
    const invalid = { name: 'InvalidSignature', args: [] };
    expect(await revert(ORG_A, 'relayGrant', [grant, await signGrant(domain, grant, MALLORY)])).toEqual(
      invalid,
    );
    // Signed for another chain, or for another contract: a different digest recovers another address.
    const otherChain = createConsentDomain(1, domain.verifyingContract);
    expect(await revert(ORG_A, 'relayGrant', [grant, await signGrant(otherChain, grant)])).toEqual(invalid);
    // Altered by the relayer after signing.
    expect(
      await revert(ORG_A, 'relayGrant', [{ ...grant, categories: grant.categories | 1n }, good]),
    ).toEqual(invalid);
    expect(await revert(ORG_A, 'relayGrant', [grant, highS(good)])).toEqual(invalid);
    expect(await revert(ORG_A, 'relayGrant', [grant, `${good.slice(0, 130)}1d`])).toEqual(invalid);
    expect(await revert(ORG_A, 'relayGrant', [grant, good.slice(0, 130)])).toEqual(invalid);
    expect(await revert(ORG_A, 'relayGrant', [grant, `0x${'00'.repeat(64)}1b`])).toEqual(invalid);
  });
});

describe('ConsentRegistry relay rules', () => {
  it('rejects invalid grants with named errors', async () => {
    const { domain, revert } = await setup();
    const check = async (grant: ConsentGrant) =>
      revert(ORG_A, 'relayGrant', [grant, await signGrant(domain, grant)]);
    expect(await check(grantOf({ notBefore: 5n, notAfter: 5n }))).toEqual({
      name: 'InvalidValidity',
      args: [5n, 5n],
    });
    expect(await check(grantOf({ notBefore: 6n, notAfter: 5n }))).toEqual({
      name: 'InvalidValidity',
      args: [6n, 5n],
    });
    // Empty masks are refused off chain (parseSignedGrant): the chain sees only the commitment.
    const empty = { ...toGrantCommitment(grantOf()), termsHash: `0x${'00'.repeat(32)}` };
    expect(await revert(ORG_A, 'relayGrant', [empty, await signGrant(domain, grantOf())])).toEqual({
      name: 'EmptyTerms',
      args: [],
    });
    expect(await check(grantOf({ grantee: zeroAddress }))).toEqual({
      name: 'InvalidGrantee',
      args: [zeroAddress],
    });
    expect(await check(grantOf({ grantee: PATIENT.address }))).toEqual({
      name: 'InvalidGrantee',
      args: [PATIENT.address],
    });
    expect(await check(grantOf({ nonce: 3n }))).toEqual({ name: 'NonceOutOfOrder', args: [0n, 3n] });
    const grant = grantOf();
    expect(await revert(OUTSIDER, 'relayGrant', [grant, await signGrant(domain, grant)])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
  });

  it('rejects a replayed grant (NonceAlreadyUsed), and grants and revocations share one nonce sequence', async () => {
    const { domain, read, write, revert } = await setup();
    const first = grantOf();
    const firstSig = await signGrant(domain, first);
    await write(ORG_A, 'relayGrant', [first, firstSig]);
    expect(await revert(ORG_B, 'relayGrant', [first, firstSig])).toEqual({
      name: 'NonceAlreadyUsed',
      args: [1n, 0n],
    });
    const firstId = computeGrantId(domain, first);
    await write(ORG_B, 'relayRevoke', [
      { patient: PATIENT.address, grantId: firstId, nonce: 1n },
      await signRevoke(domain, firstId, 1n),
    ]);
    expect(await read('nonces', [PATIENT.address])).toBe(2n);
    const second = grantOf({ nonce: 1n });
    expect(await revert(ORG_A, 'relayGrant', [second, await signGrant(domain, second)])).toEqual({
      name: 'NonceAlreadyUsed',
      args: [2n, 1n],
    });
  });

  it('revokes a grant with a patient-signed Revoke', async () => {
    const { domain, read, write, revert } = await setup();
    const grant = grantOf({ grantee: ORG_B.address, notBefore: 0n, notAfter: 10n ** 12n });
    await write(ORG_A, 'relayGrant', [grant, await signGrant(domain, grant)]);
    const grantId = computeGrantId(domain, grant);
    expect(await read('isGrantInForce', [grantId, ORG_B.address, 100n])).toBe(true);

    const revoke = { patient: PATIENT.address, grantId, nonce: 1n };
    expect(await read('hashRevoke', [revoke])).toBe(computeRevokeDigest(domain, revoke));
    expect(await revert(OUTSIDER, 'relayRevoke', [revoke, await signRevoke(domain, grantId, 1n)])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect(
      await revert(ORG_B, 'relayRevoke', [revoke, await signRevoke(domain, grantId, 1n, MALLORY)]),
    ).toEqual({
      name: 'InvalidSignature',
      args: [],
    });
    const stale = { ...revoke, nonce: 0n };
    expect(await revert(ORG_B, 'relayRevoke', [stale, await signRevoke(domain, grantId, 0n)])).toEqual({
      name: 'NonceAlreadyUsed',
      args: [1n, 0n],
    });

    const receipt = await write(ORG_B, 'relayRevoke', [revoke, await signRevoke(domain, grantId, 1n)]);
    const block = await anvil.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    expect(
      parseEventLogs({ abi, logs: receipt.logs, eventName: 'ConsentRevoked' }).map((l) => l.args),
    ).toEqual([
      { grantId, patient: PATIENT.address, revokedAt: block.timestamp, nonce: 1n, relayer: ORG_B.address },
    ]);
    expect(await read('getGrant', [grantId])).toMatchObject({ revoked: true, revokedAt: block.timestamp });
    expect(await read('isGrantInForce', [grantId, ORG_B.address, 100n])).toBe(false);

    const again = { ...revoke, nonce: 2n };
    expect(await revert(ORG_B, 'relayRevoke', [again, await signRevoke(domain, grantId, 2n)])).toEqual({
      name: 'AlreadyRevoked',
      args: [grantId],
    });
  });

  it('rejects revoking an unknown grant or another patient’s grant', async () => {
    const { domain, write, revert, read } = await setup();
    const grant = grantOf();
    await write(ORG_A, 'relayGrant', [grant, await signGrant(domain, grant)]);
    const grantId = computeGrantId(domain, grant);
    const unknown = `0x${'42'.repeat(32)}` as const;
    expect(
      await revert(ORG_A, 'relayRevoke', [
        { patient: PATIENT.address, grantId: unknown, nonce: 1n },
        await signRevoke(domain, unknown, 1n),
      ]),
    ).toEqual({ name: 'GrantNotFound', args: [unknown] });
    expect(await revert(ORG_A, 'getGrant', [unknown])).toEqual({ name: 'GrantNotFound', args: [unknown] });
    expect(
      await revert(ORG_A, 'relayRevoke', [
        { patient: OTHER_PATIENT.address, grantId, nonce: 0n },
        await signRevoke(domain, grantId, 0n, OTHER_PATIENT),
      ]),
    ).toEqual({ name: 'NotGrantPatient', args: [grantId, OTHER_PATIENT.address] });
    expect(await read('grantsOf', [OTHER_PATIENT.address])).toEqual([]);
  });
});

describe("ConsentRegistry isGrantInForce, with the opening's terms", () => {
  it('honours the validity window, every mask bit, and zero masks', async () => {
    const { domain, write, read } = await setup();
    const grant = grantOf({
      categories: encodeCategories(['medications', 'allergies']),
      purposes: encodePurposes(['TREAT', 'ETREAT']),
      notBefore: 1_000n,
      notAfter: 2_000n,
    });
    await write(ORG_A, 'relayGrant', [grant, await signGrant(domain, grant)]);
    const opened = [{ ...grant, grantId: computeGrantId(domain, grant) }];
    const ask = (category: bigint, purpose: bigint, at: bigint, grantee: Address = ORG_B.address) =>
      permitted(read, opened, grantee, category, purpose, at);
    const meds = encodeCategories(['medications']);
    const treat = encodePurposes(['TREAT']);
    expect(await ask(meds, treat, 999n)).toBe(false);
    expect(await ask(meds, treat, 1_000n)).toBe(true);
    expect(await ask(meds, treat, 1_999n)).toBe(true);
    expect(await ask(meds, treat, 2_000n)).toBe(false);
    expect(
      await ask(encodeCategories(['medications', 'allergies']), encodePurposes(['TREAT', 'ETREAT']), 1_500n),
    ).toBe(true);
    expect(await ask(encodeCategories(['medications', 'hiv']), treat, 1_500n)).toBe(false);
    expect(await ask(meds, encodePurposes(['HRESCH']), 1_500n)).toBe(false);
    expect(await ask(0n, treat, 1_500n)).toBe(false);
    expect(await ask(meds, 0n, 1_500n)).toBe(false);
    expect(await ask(meds, treat, 1_500n, ORG_A.address)).toBe(false);
    expect(await read('isGrantInForce', [`0x${'42'.repeat(32)}`, ORG_B.address, 1_500n])).toBe(false);
  });

  it('extends a grant to an organization to the practitioners it attests, while the attestation holds', async () => {
    const { domain, write, read } = await setup();
    const grant = grantOf({ grantee: ORG_A.address, notBefore: 0n, notAfter: practitionerExpiresAt + DAY });
    await write(ORG_B, 'relayGrant', [grant, await signGrant(domain, grant)]);
    const opened = [{ ...grant, grantId: computeGrantId(domain, grant) }];
    const ask = (grantee: Address, at: bigint) =>
      permitted(read, opened, grantee, grant.categories, grant.purposes, at);
    expect(await ask(PRACTITIONER.address, 100n)).toBe(true);
    expect(await ask(PRACTITIONER.address, practitionerExpiresAt - 1n)).toBe(true);
    expect(await ask(PRACTITIONER.address, practitionerExpiresAt)).toBe(false);
    expect(await ask(ORG_A.address, practitionerExpiresAt)).toBe(true);
    expect(await ask(MALLORY.address, 100n)).toBe(false);
  });
});

// ---------------------------------------------------------------- property test against a model

interface ModelGrant {
  grantee: Address;
  categories: bigint;
  purposes: bigint;
  notBefore: bigint;
  notAfter: bigint;
  revoked: boolean;
}

/** The reference semantics of a consent decision, written as plainly as possible. */
function modelIsPermitted(
  grants: readonly ModelGrant[],
  grantee: Address,
  category: bigint,
  purpose: bigint,
  at: bigint,
): boolean {
  if (category === 0n || purpose === 0n) return false;
  const practitionerOrg =
    grantee === PRACTITIONER.address && at < practitionerExpiresAt ? ORG_A.address : undefined;
  return grants.some(
    (g) =>
      !g.revoked &&
      g.notBefore <= at &&
      at < g.notAfter &&
      (g.categories & category) === category &&
      (g.purposes & purpose) === purpose &&
      (g.grantee === grantee || g.grantee === practitionerOrg),
  );
}

describe('ConsentRegistry isGrantInForce with openings matches a reference model', () => {
  const GRANTEES = [ORG_A.address, ORG_B.address, PRACTITIONER.address, MALLORY.address];
  const BASE = 10_000n;

  // Times live around the practitioner's expiry too, so the attestation boundary is exercised.
  const timeArb = fc.oneof(
    fc.bigInt({ min: BASE - 5n, max: BASE + 60n }),
    fc.bigInt({ min: practitionerExpiresAt - 30n, max: practitionerExpiresAt + 30n }),
  );
  const grantArb = fc.record({
    kind: fc.constant('grant' as const),
    grantee: fc.nat({ max: GRANTEES.length - 1 }),
    categories: fc.bigInt({ min: 1n, max: 15n }),
    purposes: fc.bigInt({ min: 1n, max: 7n }),
    start: timeArb,
    length: fc.bigInt({ min: 1n, max: 40n }),
  });
  const revokeArb = fc.record({ kind: fc.constant('revoke' as const), index: fc.nat({ max: 7 }) });
  const queryArb = fc.record({
    grantee: fc.nat({ max: GRANTEES.length - 1 }),
    category: fc.bigInt({ min: 0n, max: 15n }),
    purpose: fc.bigInt({ min: 0n, max: 7n }),
    at: timeArb,
  });

  it('for random grants, revocations and queries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 3, arbitrary: grantArb }, { weight: 1, arbitrary: revokeArb }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(queryArb, { minLength: 10, maxLength: 20 }),
        async (operations, queries) => {
          const { domain, write, read } = await setup();
          const model: ModelGrant[] = [];
          const ids: Hex[] = [];
          let nonce = 0n;
          for (const op of operations) {
            if (op.kind === 'grant') {
              const grant = grantOf({
                grantee: GRANTEES[op.grantee] as Address,
                categories: op.categories,
                purposes: op.purposes,
                notBefore: op.start,
                notAfter: op.start + op.length,
                nonce,
              });
              await write(ORG_A, 'relayGrant', [grant, await signGrant(domain, grant)]);
              nonce += 1n;
              model.push({ ...grant, revoked: false });
              ids.push(computeGrantId(domain, grant));
            } else {
              const target = model[op.index];
              const grantId = ids[op.index];
              if (target === undefined || grantId === undefined || target.revoked) continue;
              await write(ORG_B, 'relayRevoke', [
                { patient: PATIENT.address, grantId, nonce },
                await signRevoke(domain, grantId, nonce),
              ]);
              nonce += 1n;
              target.revoked = true;
            }
          }
          expect(await read('grantsOf', [PATIENT.address])).toEqual(ids);
          for (const q of queries) {
            const grantee = GRANTEES[q.grantee] as Address;
            const opened = model.map((g, i) => ({ ...g, grantId: ids[i] as Hex }));
            const decided = await permitted(read, opened, grantee, q.category, q.purpose, q.at);
            expect(
              decided,
              JSON.stringify(q, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
            ).toBe(modelIsPermitted(model, grantee, q.category, q.purpose, q.at));
          }
        },
      ),
      { numRuns: 30, seed: 20261121 },
    );
  });
});

describe('ConsentRegistry delegates', () => {
  const PROXY = anvilAccount(5);
  const GUARDIAN = anvilAccount(6);
  const FAR = 10n ** 12n;
  /** The delegate key's acceptance of its one ward (decision 0021). */
  const accept = (domain: ConsentDomain, ward: Address, key: PrivateKeyAccount) =>
    key.signTypedData(createDelegateKeyTypedData(domain, { ward, delegate: key.address }));

  it('lets a healthcare proxy the patient appointed sign grants and revocations, until the patient ends it', async () => {
    const { domain, read, write, revert } = await setup();
    const delegation = {
      patient: PATIENT.address,
      delegate: PROXY.address,
      notBefore: 0n,
      notAfter: FAR,
      nonce: 0n,
    };
    const byStranger = await MALLORY.signTypedData(createDelegationTypedData(domain, delegation));
    const accepted = await accept(domain, PATIENT.address, PROXY);
    expect(await revert(ORG_A, 'relayDelegation', [delegation, byStranger, accepted])).toEqual({
      name: 'InvalidSignature',
      args: [],
    });
    const receipt = await write(ORG_A, 'relayDelegation', [
      delegation,
      await PATIENT.signTypedData(createDelegationTypedData(domain, delegation)),
      accepted,
    ]);
    const delegationId = computeDelegationId(domain, delegation);
    expect(
      parseEventLogs({ abi, logs: receipt.logs, eventName: 'DelegationRegistered' })[0]?.args,
    ).toMatchObject({
      delegationId,
      patient: PATIENT.address,
      delegate: PROXY.address,
      kind: 1,
    });
    expect(await read('isDelegate', [PATIENT.address, PROXY.address, 100n])).toBe(true);

    // The proxy signs a grant in the patient's name, with the patient's next nonce.
    const grant = grantOf({ notBefore: 0n, notAfter: FAR, nonce: 1n });
    const signed = await write(ORG_B, 'relayGrant', [grant, await signGrant(domain, grant, PROXY)]);
    const grantId = computeGrantId(domain, grant);
    expect(parseEventLogs({ abi, logs: signed.logs, eventName: 'SignedByDelegate' })[0]?.args).toEqual({
      consentId: grantId,
      patient: PATIENT.address,
      delegate: PROXY.address,
    });
    const grant2 = grantOf({ notBefore: 0n, notAfter: FAR, nonce: 2n });
    expect(await revert(ORG_B, 'relayGrant', [grant2, await signGrant(domain, grant2, MALLORY)])).toEqual({
      name: 'InvalidSignature',
      args: [],
    });

    // The patient ends the appointment (a signed Revoke naming the delegation); the proxy can no longer sign.
    const end = { patient: PATIENT.address, grantId: delegationId, nonce: 2n };
    await write(ORG_A, 'revokeDelegation', [
      delegationId,
      end,
      await PATIENT.signTypedData(createRevokeTypedData(domain, end)),
    ]);
    expect(await read('isDelegate', [PATIENT.address, PROXY.address, 100n])).toBe(false);
    const grant3 = grantOf({ notBefore: 0n, notAfter: FAR, nonce: 3n });
    expect(await revert(ORG_B, 'relayGrant', [grant3, await signGrant(domain, grant3, PROXY)])).toEqual({
      name: 'InvalidSignature',
      args: [],
    });
    // The grant the proxy made holds no longer either (decision 0021); the patient may still revoke it.
    const revoke = { patient: PATIENT.address, grantId, nonce: 3n };
    await write(ORG_B, 'relayRevoke', [
      revoke,
      await PATIENT.signTypedData(createRevokeTypedData(domain, revoke)),
    ]);
    expect(await read('getGrant', [grantId])).toMatchObject({ revoked: true, signedBy: PROXY.address });
  });

  it('lets a member attest the guardian of a minor, who signs for them while the member stays active and the window holds', async () => {
    const { domain, read, write, revert } = await setup();
    const minor = OTHER_PATIENT.address;
    const accepted = await accept(domain, minor, GUARDIAN);
    expect(await revert(OUTSIDER, 'attestGuardian', [minor, GUARDIAN.address, 0n, FAR, accepted])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect(await revert(ORG_A, 'attestGuardian', [minor, minor, 0n, FAR, accepted])).toEqual({
      name: 'InvalidDelegate',
      args: [minor],
    });
    const receipt = await write(ORG_A, 'attestGuardian', [minor, GUARDIAN.address, 0n, FAR, accepted]);
    const delegationId = parseEventLogs({ abi, logs: receipt.logs, eventName: 'DelegationRegistered' })[0]
      ?.args.delegationId as Hex;
    expect(await read('getDelegation', [delegationId])).toMatchObject({
      kind: 2,
      attestedBy: ORG_A.address,
      revoked: false,
    });
    expect(await revert(ORG_A, 'attestGuardian', [minor, GUARDIAN.address, 0n, FAR, accepted])).toEqual({
      name: 'DelegationExists',
      args: [delegationId],
    });

    const grant = grantOf({ patient: minor, notBefore: 0n, notAfter: FAR, nonce: 0n });
    await write(ORG_B, 'relayGrant', [grant, await signGrant(domain, grant, GUARDIAN)]);
    expect(await read('isGrantInForce', [computeGrantId(domain, grant), ORG_B.address, 100n])).toBe(true);

    // Only the attesting member ends a guardianship.
    const none = { patient: minor, grantId: delegationId, nonce: 0n };
    expect(await revert(ORG_B, 'revokeDelegation', [delegationId, none, '0x'])).toEqual({
      name: 'NotDelegationAttester',
      args: [delegationId, ORG_B.address],
    });
    await write(ORG_A, 'revokeDelegation', [delegationId, none, '0x']);
    expect(await read('isDelegate', [minor, GUARDIAN.address, 100n])).toBe(false);
    expect(await read('isGrantInForce', [computeGrantId(domain, grant), ORG_B.address, 100n])).toBe(false);
    const grant2 = grantOf({ patient: minor, notBefore: 0n, notAfter: FAR, nonce: 1n });
    expect(await revert(ORG_B, 'relayGrant', [grant2, await signGrant(domain, grant2, GUARDIAN)])).toEqual({
      name: 'InvalidSignature',
      args: [],
    });
    // A window that has not begun does not count either.
    await write(ORG_A, 'attestGuardian', [minor, GUARDIAN.address, FAR - 1n, FAR, accepted]);
    expect(await revert(ORG_B, 'relayGrant', [grant2, await signGrant(domain, grant2, GUARDIAN)])).toEqual({
      name: 'InvalidSignature',
      args: [],
    });
  });
});
