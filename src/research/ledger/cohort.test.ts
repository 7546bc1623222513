import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConsentOpeningStore } from '../../consent/consent-opening.js';
import { encodeCategories, encodePurposes } from '../../ledger/codes.js';
import {
  type ConsentGrant,
  computeGrantId,
  computeTermsHash,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
} from '../../ledger/eip712.js';
import { openDatabase } from '../../storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../storage/sqlite/sqlite-chain-index-storage.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';
import { consentingPatients } from './cohort.js';
import { studyCreditAddress } from './credit-address.js';

const domain = createConsentDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
const STUDY = { id: keccak256(toHex('study')), categories: ['demographics', 'laboratory'] as const };
const BLOCK_TIME = 1_800_000_000;
const dir = mkdtempSync(join(tmpdir(), 'careledger-cohort-'));
let db: ReturnType<typeof openDatabase>;
let index: SqliteChainIndexStorage;
const openings = new MemoryConsentOpeningStore();
/** Local Patient ids by ledger address: the patients this node holds. */
const local = new Map<string, string>();
let block = 10;
let logIndex = 0;

beforeAll(() => {
  db = openDatabase(join(dir, 'index.db'), chainIndexMigrations);
  index = new SqliteChainIndexStorage(db);
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function apply(name: string, args: Record<string, string | number>) {
  block += 1;
  const hash = keccak256(toHex(`block ${block}`));
  await index.applyBatch({
    events: [
      {
        blockNumber: block,
        blockHash: hash,
        logIndex: logIndex++,
        txHash: hash,
        contract: 'consent',
        name,
        args,
      },
    ],
    blocks: [{ number: block, hash }],
    cursor: { number: block, hash },
  });
}

/** A patient (held here unless `local: false`) signs a grant; it is indexed and this node holds its opening. */
async function grant(options: {
  grantee: Address;
  categories?: string[];
  purposes?: string[];
  holdOpening?: boolean;
  local?: boolean;
  notAfter?: number;
}) {
  const account = privateKeyToAccount(generatePrivateKey());
  if (options.local !== false) local.set(account.address.toLowerCase(), `p-${local.size + 1}`);
  const g: ConsentGrant = {
    patient: account.address,
    grantee: options.grantee,
    categories: encodeCategories(options.categories ?? ['demographics', 'laboratory', 'medications']),
    purposes: encodePurposes(options.purposes ?? ['HRESCH']),
    salt: createGrantSalt(),
    notBefore: BigInt(BLOCK_TIME - 1000),
    notAfter: BigInt(options.notAfter ?? BLOCK_TIME + 1000),
    nonce: 0n,
  };
  const grantId = computeGrantId(domain, g);
  const signature = await account.signTypedData(createGrantTypedData(domain, g));
  if (options.holdOpening !== false) await openings.save({ grant: g, grantId, signature });
  await apply('ConsentGranted', {
    grantId,
    patient: g.patient,
    grantee: g.grantee,
    termsHash: computeTermsHash(g),
    notBefore: Number(g.notBefore),
    notAfter: Number(g.notAfter),
    nonce: '0',
  });
  return { patient: account.address, grantId, salt: g.salt };
}

const deps = () => ({
  index,
  openings,
  localPatientIds: async (address: Address) => {
    const id = local.get(address.toLowerCase());
    return id === undefined ? [] : [id];
  },
  blockTimestamp: async () => BLOCK_TIME,
});

describe('consentingPatients', () => {
  it('takes exactly the local patients whose research grant covers HRESCH and every study category, in force at the block', async () => {
    const joined = await grant({ grantee: studyGrantee(STUDY.id) });
    const general = await grant({ grantee: GENERAL_RESEARCH_ADDRESS });
    await grant({ grantee: studyGrantee(STUDY.id), purposes: ['TREAT'] });
    await grant({ grantee: studyGrantee(STUDY.id), categories: ['demographics'] });
    await grant({ grantee: studyGrantee(keccak256(toHex('another study'))) });
    await grant({ grantee: studyGrantee(STUDY.id), holdOpening: false });
    await grant({ grantee: studyGrantee(STUDY.id), local: false });
    await grant({ grantee: studyGrantee(STUDY.id), notAfter: BLOCK_TIME });
    const atBlock = BigInt(block);
    const later = await grant({ grantee: studyGrantee(STUDY.id) });

    const cohort = await consentingPatients(deps(), STUDY, atBlock);
    expect(cohort.map((c) => c.patient).sort()).toEqual([joined.patient, general.patient].sort());
    const member = cohort.find((c) => c.patient === joined.patient);
    expect(member).toEqual({
      patient: joined.patient,
      patientIds: [local.get(joined.patient.toLowerCase())],
      grantId: joined.grantId,
      creditAddress: studyCreditAddress(STUDY.id, joined.salt),
    });
    // The credit address is neither the patient's address nor the same for another study.
    expect(member?.creditAddress).not.toBe(joined.patient);
    expect(studyCreditAddress(keccak256(toHex('another study')), joined.salt)).not.toBe(
      member?.creditAddress,
    );

    // A grant mined after the consent block is not in that release, but is in the next.
    const next = await consentingPatients(deps(), STUDY, BigInt(block));
    expect(next.map((c) => c.patient)).toContain(later.patient);
  });

  it('drops a patient who revoked before the block, and prefers the study grant over a general one', async () => {
    const both = await grant({ grantee: GENERAL_RESEARCH_ADDRESS });
    const revoked = await grant({ grantee: studyGrantee(STUDY.id) });
    await apply('ConsentRevoked', {
      grantId: revoked.grantId,
      patient: revoked.patient,
      revokedAt: BLOCK_TIME - 10,
      nonce: '1',
    });
    const cohort = await consentingPatients(deps(), STUDY, BigInt(block));
    expect(cohort.map((c) => c.patient)).not.toContain(revoked.patient);
    expect(cohort.map((c) => c.patient)).toContain(both.patient);
    // Revoked after the block's time: still in a release whose consent block came before it.
    const after = await grant({ grantee: studyGrantee(STUDY.id) });
    await apply('ConsentRevoked', {
      grantId: after.grantId,
      patient: after.patient,
      revokedAt: BLOCK_TIME + 10,
      nonce: '1',
    });
    expect((await consentingPatients(deps(), STUDY, BigInt(block))).map((c) => c.patient)).toContain(
      after.patient,
    );
  });

  it('is empty for a study nobody joined: no one is in a study by default', async () => {
    const nobody = { id: keccak256(toHex('unjoined')) as Hex, categories: ['hiv'] as const };
    expect(await consentingPatients(deps(), nobody, BigInt(block))).toEqual([]);
  });
});
