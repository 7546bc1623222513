import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestVault, type TestVault } from '../../../test/support/open-test-vault.js';
import type { ConsentOpening } from '../../consent/index.js';
import {
  computeGrantId,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  encodeCategories,
  encodePurposes,
} from '../../ledger/index.js';
import { openDatabase } from './open-database.js';
import {
  consentOpeningMigrations,
  createVaultOpeningSealer,
  SqliteConsentOpeningStore,
} from './sqlite-consent-opening-store.js';

const vaults: TestVault[] = [];
afterAll(() => {
  for (const vault of vaults) vault.close();
});

async function opening(): Promise<ConsentOpening> {
  const patient = privateKeyToAccount(generatePrivateKey());
  const domain = createConsentDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
  const grant = {
    patient: patient.address,
    grantee: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const,
    categories: encodeCategories(['hiv', 'substance-use']),
    purposes: encodePurposes(['TREAT']),
    salt: createGrantSalt(),
    notBefore: 1_000n,
    notAfter: 2_000n,
    nonce: 0n,
  };
  const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
  return { grant, signature, grantId: computeGrantId(domain, grant) };
}

describe('consent openings at rest (decision 0013)', () => {
  it('are sealed under the node key, bound to their grant id, and found by patient', async () => {
    const vault = await openTestVault('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    vaults.push(vault);
    const file = join(vault.dir, 'openings.db');
    const db = openDatabase(file, consentOpeningMigrations);
    const store = new SqliteConsentOpeningStore(db, createVaultOpeningSealer(vault.crypto), () => 7);
    const first = await opening();
    const second = await opening();
    await store.save(first);
    await store.save(first);
    await store.save(second);
    expect(await store.load(first.grantId)).toEqual({
      ...first,
      grant: { ...first.grant, salt: first.grant.salt.toLowerCase() },
    });
    expect(await store.grantIdsOf(first.grant.patient)).toEqual([first.grantId.toLowerCase()]);
    expect(await store.load(`0x${'00'.repeat(32)}`)).toBeUndefined();

    // Neither the salt nor the signature is readable in the database file.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(file).toString('latin1');
    expect(bytes).not.toContain(first.grant.salt.slice(2));
    expect(bytes).not.toContain(first.signature.slice(2, 40));
    expect(bytes).not.toContain('"categories"');

    // A sealed opening moved to another grant's row does not open.
    const sealed = db
      .prepare('SELECT sealed FROM consent_openings WHERE grant_id = ?')
      .get(first.grantId.toLowerCase()) as { sealed: string };
    db.prepare('UPDATE consent_openings SET sealed = ? WHERE grant_id = ?').run(
      sealed.sealed,
      second.grantId.toLowerCase(),
    );
    await expect(store.load(second.grantId)).rejects.toThrow();
    db.close();
  });
});
