/**
 * CredentialStatus on a real anvil (decision 0018): only an active licensing-board member registers an
 * issuer key and sets status bits; revocation is final; a suspension is one transaction and the
 * chain index answers the next check with it; a board removed by vote stops being an admitted issuer.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Address } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runCredentialRecord,
  runCredentialSetStatus,
  runCredentialStatus,
  runRegisterIssuerKey,
} from '../../src/credentials/credential-chain-commands.js';
import {
  CredentialChainIndex,
  credentialHashOf,
  issuerKeyOnChain,
  registerIssuerKeyData,
  setStatusData,
} from '../../src/credentials/credential-ledger.js';
import {
  buildLicenseCredential,
  practitionerDid,
  V2_0360_SYSTEM,
} from '../../src/credentials/practitioner-credential.js';
import { issueCredential } from '../../src/credentials/vc-jwt.js';
import { verifyCredentialOnChain } from '../../src/credentials/verify-on-chain.js';
import {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  credentialStatusAbi,
  credentialStatusBytecode,
} from '../../src/ledger/contracts.generated.js';
import { memberInput } from '../contracts/fixtures.js';
import {
  ANVIL_PRIVATE_KEYS,
  anvilAccount,
  captureRevert,
  startTestAnvil,
  type TestAnvil,
} from '../support/test-anvil.js';

const BOARD = anvilAccount(0);
const CLINIC = anvilAccount(1);
const ISSUER = 'https://board.example.gov/ma';
const NOW = new Date('2026-12-07T12:00:00Z');
const ALICE = practitionerDid(31337, anvilAccount(5).address);

let anvil: TestAnvil;
let address: Address;
let registry: Address;
let index: CredentialChainIndex;
let boardKey: JWK;
let kid: string;

const send = async (account: PrivateKeyAccount, data: `0x${string}`) => {
  const hash = await anvil.walletClient(account).sendTransaction({ to: address, data });
  const receipt = await anvil.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
  expect(receipt.status).toBe('success');
};
/** The refusal reason of a verification, or 'ok'. */
const why = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { details?: { reason?: string } }) => String(e.details?.reason),
  );

function licence(statusIndex: number) {
  return buildLicenseCredential({
    issuer: ISSUER,
    validFrom: new Date('2026-01-01T00:00:00Z'),
    validUntil: new Date('2028-01-01T00:00:00Z'),
    subject: {
      id: ALICE,
      licenseNumber: 'MD-4411',
      jurisdiction: 'US-MA',
      qualification: { system: V2_0360_SYSTEM, code: 'MD' },
    },
    status: {
      index: statusIndex,
      revocationList: `${ISSUER}/status/revocation`,
      suspensionList: `${ISSUER}/status/suspension`,
    },
  });
}

beforeAll(async () => {
  anvil = await startTestAnvil();
  registry = await anvil.deploy(BOARD, {
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [
      [
        memberInput(BOARD.address, 'board', 'licensing-board'),
        memberInput(CLINIC.address, 'clinic', 'provider'),
      ],
      1,
    ],
  });
  address = await anvil.deploy(BOARD, {
    abi: credentialStatusAbi,
    bytecode: credentialStatusBytecode,
    args: [registry],
  });
  const pair = await generateKeyPair('ES256', { extractable: true });
  boardKey = await exportJWK(pair.privateKey);
  const onChain = await issuerKeyOnChain(await exportJWK(pair.publicKey));
  kid = onChain.kid;
  await send(BOARD, registerIssuerKeyData(ISSUER, onChain));
  index = new CredentialChainIndex(anvil.publicClient, address, registry);
  await index.sync();
});

afterAll(async () => {
  await anvil?.stop();
});

describe('CredentialStatus', () => {
  it('lets only an active licensing-board member register a key or set a status bit', async () => {
    const key = await issuerKeyOnChain(boardKey);
    const call = (functionName: 'registerIssuerKey' | 'setStatus', args: readonly unknown[]) =>
      captureRevert(() =>
        anvil.publicClient.simulateContract({
          account: CLINIC,
          address,
          abi: credentialStatusAbi,
          functionName,
          args,
        } as never),
      );
    expect(
      (await call('registerIssuerKey', ['https://clinic.example', key.keyThumbprint, key.publicKey])).name,
    ).toBe('NotLicensingBoard');
    expect((await call('setStatus', [1n, 1, true])).name).toBe('NotLicensingBoard');
  });

  it('verifies a licence from an admitted board; a suspension is refused at the next sync, reinstatement admits again', async () => {
    const jwt = await issueCredential(licence(7), { privateKey: boardKey, kid });
    const verified = await verifyCredentialOnChain(jwt, { index, now: NOW, expectedSubject: ALICE });
    expect(verified.credentialSubject.licenseNumber).toBe('MD-4411');
    const readsBefore = index.reads;
    await verifyCredentialOnChain(jwt, { index, now: NOW });
    expect(index.reads).toBe(readsBefore); // answered from the per-block cache: no round trip

    await send(BOARD, setStatusData(7, 'suspension', true));
    await index.sync();
    expect(await why(verifyCredentialOnChain(jwt, { index, now: NOW }))).toBe('suspended');
    expect(await index.status(BOARD.address, 8)).toEqual({ revoked: false, suspended: false });

    await send(BOARD, setStatusData(7, 'suspension', false));
    await index.sync();
    await expect(verifyCredentialOnChain(jwt, { index, now: NOW })).resolves.toBeTruthy();
  });

  it('makes revocation final', async () => {
    const jwt = await issueCredential(licence(300), { privateKey: boardKey, kid });
    await send(BOARD, setStatusData(300, 'revocation', true));
    await index.sync();
    expect(await why(verifyCredentialOnChain(jwt, { index, now: NOW }))).toBe('revoked');
    const undo = await captureRevert(() =>
      anvil.publicClient.simulateContract({
        account: BOARD,
        address,
        abi: credentialStatusAbi,
        functionName: 'setStatus',
        args: [300n, 0, false],
      }),
    );
    expect(undo.name).toBe('RevocationIsFinal');
  });

  it('refuses a credential from an unregistered issuer or signed with another key, and for another subject', async () => {
    const stranger = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const forged = await issueCredential(licence(9), { privateKey: stranger, kid });
    expect(await why(verifyCredentialOnChain(forged, { index, now: NOW }))).toBe('bad-signature');
    const elsewhere = await issueCredential(
      { ...licence(9), issuer: 'https://board.example.gov/ny' },
      { privateKey: boardKey, kid },
    );
    expect(await why(verifyCredentialOnChain(elsewhere, { index, now: NOW }))).toBe('issuer-not-admitted');
    const good = await issueCredential(licence(9), { privateKey: boardKey, kid });
    const other = practitionerDid(31337, anvilAccount(6).address);
    expect(await why(verifyCredentialOnChain(good, { index, now: NOW, expectedSubject: other }))).toBe(
      'wrong-subject',
    );
  });

  it('suspends, reinstates and reports status from the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'careledger-credential-cli-'));
    try {
      const jwtFile = join(dir, 'licence.jwt');
      writeFileSync(jwtFile, await issueCredential(licence(11), { privateKey: boardKey, kid }));
      const keyFile = join(dir, 'board.key');
      writeFileSync(keyFile, ANVIL_PRIVATE_KEYS[0]);
      const chain = { rpc: anvil.url, contract: address };
      let out = '';
      const stdout = { write: (t: string) => (out += t) };
      await runCredentialStatus(jwtFile, { ...chain, now: NOW }, stdout);
      await runCredentialSetStatus(11, 'suspend', { ...chain, key: keyFile }, stdout);
      await expect(runCredentialStatus(jwtFile, { ...chain, now: NOW }, stdout)).rejects.toThrow();
      await runCredentialSetStatus(11, 'reinstate', { ...chain, key: keyFile }, stdout);
      await runCredentialStatus(jwtFile, { ...chain, now: NOW }, stdout);
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => (l.ok === true ? (l.change ?? 'valid') : l.reason))).toEqual([
        'valid',
        'suspend',
        'suspended',
        'reinstate',
        'valid',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('proposes the issuer key and records an issued licence from the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'careledger-credential-cli-'));
    try {
      const keyFile = join(dir, 'board.key');
      writeFileSync(keyFile, ANVIL_PRIVATE_KEYS[0]);
      const jwkFile = join(dir, 'board.jwk');
      writeFileSync(jwkFile, JSON.stringify(boardKey));
      const chain = { rpc: anvil.url, contract: address, key: keyFile };
      let out = '';
      const stdout = { write: (t: string) => (out += t) };
      // k = 1 here: the board's own proposal admits the (same) key again at once.
      await runRegisterIssuerKey({ ...chain, issuer: ISSUER, issuerKey: jwkFile }, stdout);
      const jwt = await issueCredential(licence(12), { privateKey: boardKey, kid });
      await runCredentialRecord(jwt, chain, stdout);
      await expect(runCredentialRecord(jwt, chain, stdout)).rejects.toThrow();
      await index.sync();
      expect(await index.credential(credentialHashOf(jwt))).toEqual({
        board: BOARD.address,
        subject: anvilAccount(5).address,
        index: 12,
        validFrom: Date.parse('2026-01-01T00:00:00Z') / 1000,
        validUntil: Date.parse('2028-01-01T00:00:00Z') / 1000,
        qualification: { system: V2_0360_SYSTEM, code: 'MD' },
        licenseNumber: 'MD-4411',
        jurisdiction: 'US-MA',
      });
      expect(await index.admittedIssuer(BOARD.address)).toBe(true);
      expect(out).toContain(`"kid":"${kid}"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
