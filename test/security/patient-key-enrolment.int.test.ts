/**
 * Issue 14 item 12: a patient's ledger key (the key whose signatures the node takes as the patient's
 * consent) is linked to their Patient record only with the patient's proof of possession, audited;
 * nobody who may edit demographics can point it at a key they hold, and changing it needs the
 * privacy officer. Over a real vault (SQLite, envelope encryption, transparency log).
 */
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM, patientLedgerAddress } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { LedgerKeyEnrolment } from '../../src/enrolment/index.js';
import { createLedgerKeyProofTypedData } from '../../src/identity/index.js';
import { applyMigrations } from '../../src/storage/sqlite/open-database.js';
import {
  ledgerKeyChallengeMigrations,
  SqliteLedgerKeyChallengeStore,
} from '../../src/storage/sqlite/sqlite-ledger-key-challenge-store.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const NODE = 'https://hospital.careledger.test';
const registrar: AccessContext = { who: 'Practitioner/reg-1', purpose: 'HOPERAT', roles: ['registrar'] };
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const officer: AccessContext = { who: 'Practitioner/po-1', purpose: 'HOPERAT', roles: ['privacy-officer'] };

const patientKey = privateKeyToAccount(generatePrivateKey());
const insiderKey = privateKeyToAccount(generatePrivateKey());
const newPatientKey = privateKeyToAccount(generatePrivateKey());

let vault: TestVault;
let enrolment: LedgerKeyEnrolment;
let nonces = 0;

async function refusal(task: Promise<unknown>): Promise<string> {
  const error = (await task.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; message?: string; details?: { reason?: string } } | undefined;
  return `${error?.code}: ${error?.details?.reason ?? error?.message}`;
}

async function newPatient(family: string): Promise<string> {
  const created = await vault.repo.create({ resourceType: 'Patient', name: [{ family }] }, registrar);
  return created.id as string;
}

/** Asks for a challenge for `key` and signs it with `signer` (the key's holder, unless a test says otherwise). */
async function signedChallenge(
  patientId: string,
  key: Hex,
  signer: { signTypedData: typeof patientKey.signTypedData },
  context: AccessContext = registrar,
) {
  const { challenge } = await enrolment.issueChallenge(patientId, key, context);
  const signature = await signer.signTypedData(createLedgerKeyProofTypedData(challenge));
  return { nonce: challenge.nonce, signature };
}

async function current(patientId: string): Promise<Resource> {
  return vault.repo.read('Patient', patientId, registrar);
}

async function auditOf(patientId: string): Promise<AuditEvent[]> {
  return (await vault.repo.auditTrail(patientId)).map((r) => r.auditEvent);
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  applyMigrations(vault.db, ledgerKeyChallengeMigrations);
});

beforeEach(() => {
  enrolment = new LedgerKeyEnrolment({
    repository: vault.repo,
    challenges: new SqliteLedgerKeyChallengeStore(vault.db),
    node: NODE,
    now: () => vault.clock.now,
    newNonce: () => `0x${(++nonces).toString(16).padStart(64, '0')}`,
  });
});

afterAll(() => vault.close());

describe('the plain FHIR API cannot link or change a ledger key', () => {
  it('refuses a create, an update, a patch and a transaction that set the identifier, audited', async () => {
    const withKey = (key: string, id?: string): Resource => ({
      resourceType: 'Patient',
      ...(id === undefined ? {} : { id }),
      identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: key }],
      name: [{ family: 'Okafor' }],
    });
    expect(await refusal(vault.repo.create(withKey(insiderKey.address), registrar))).toMatch(
      /^ERR_FORBIDDEN: the ledger-address identifier is set only by key enrolment/,
    );
    const id = await newPatient('Okafor');
    for (const who of [registrar, clinician]) {
      expect(await refusal(vault.repo.update(withKey(insiderKey.address, id), who))).toMatch(
        /^ERR_FORBIDDEN: .*\$enrol-ledger-key/,
      );
      expect(
        await refusal(
          vault.repo.patch(
            'Patient',
            id,
            (p) =>
              ({
                ...p,
                identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: insiderKey.address }],
              }) as Resource,
            who,
          ),
        ),
      ).toMatch(/^ERR_FORBIDDEN: the ledger-address identifier/);
      expect(
        await refusal(
          vault.repo.transaction(
            {
              resourceType: 'Bundle',
              type: 'transaction',
              entry: [
                {
                  resource: withKey(insiderKey.address, id),
                  request: { method: 'PUT', url: `Patient/${id}` },
                },
              ],
            },
            who,
          ),
        ),
      ).toMatch(/^ERR_FORBIDDEN: the ledger-address identifier/);
    }
    expect(patientLedgerAddress(await current(id))).toBeUndefined();
    const denials = (await auditOf(id)).filter((e) => e.outcome === '4');
    expect(denials.length).toBeGreaterThanOrEqual(6);
    expect(denials[0]?.outcomeDesc).toMatch(/key enrolment/);
  });

  it('refuses changing or removing an enrolled key, and takes updates that keep it', async () => {
    const id = await newPatient('Lindqvist');
    await enrolment.enrol(id, await signedChallenge(id, patientKey.address, patientKey), registrar);
    const enrolled = await current(id);
    const { meta: _meta, ...body } = enrolled;
    expect(await refusal(vault.repo.update(withIdentifier(body, insiderKey.address), clinician))).toMatch(
      /^ERR_FORBIDDEN: the ledger-address identifier/,
    );
    expect(await refusal(vault.repo.update(withIdentifier(body, undefined), registrar))).toMatch(
      /^ERR_FORBIDDEN: the ledger-address identifier/,
    );
    // A demographics edit that carries the enrolled identifier (in any letter case) is an ordinary update.
    const edited = await vault.repo.update(
      { ...withIdentifier(body, patientKey.address.toLowerCase()), gender: 'female' } as Resource,
      registrar,
    );
    expect(patientLedgerAddress(edited.resource)).toBe(patientKey.address);
  });
});

function withIdentifier(patient: Resource, value: string | undefined): Resource {
  const others = ((patient as { identifier?: { system?: string }[] }).identifier ?? []).filter(
    (i) => i.system !== LEDGER_ADDRESS_SYSTEM,
  );
  const identifier = value === undefined ? others : [...others, { system: LEDGER_ADDRESS_SYSTEM, value }];
  const { identifier: _i, ...rest } = patient as Resource & { identifier?: unknown };
  return (identifier.length === 0 ? rest : { ...rest, identifier }) as Resource;
}

describe('key enrolment with the patient’s proof of possession', () => {
  it('links the key the patient signed for, and audits who enrolled it', async () => {
    const id = await newPatient('Haddad');
    const result = await enrolment.enrol(
      id,
      await signedChallenge(id, patientKey.address, patientKey),
      registrar,
    );
    expect(result).toMatchObject({ address: patientKey.address, previous: undefined, changed: true });
    expect(patientLedgerAddress(await current(id))).toBe(patientKey.address);
    const enrolled = (await auditOf(id)).filter((e) =>
      e.entity?.some((x) => x.what?.reference === `Patient/${id}/$enrol-ledger-key`),
    );
    expect(enrolled).toHaveLength(1);
    expect(enrolled[0]).toMatchObject({
      subtype: [{ code: 'operation' }],
      outcome: '0',
      recorded: vault.clock.now.toISOString(),
      agent: [expect.objectContaining({ who: { reference: 'Practitioner/reg-1' } })],
    });
    expect(enrolled[0]?.outcomeDesc).toContain(
      `ledger key ${patientKey.address} linked with proof of possession`,
    );
  });

  it('refuses a wrong signature, a replayed, expired or unknown challenge, and another patient’s, each with its reason', async () => {
    const id = await newPatient('Moreau');
    const other = await newPatient('Nakamura');
    // Signed by someone other than the key's holder (the insider asks for the patient's key, signs with theirs).
    expect(
      await refusal(
        enrolment.enrol(id, await signedChallenge(id, patientKey.address, insiderKey), registrar),
      ),
    ).toBe('ERR_SIGNATURE_INVALID: signature-mismatch');
    // A proof made for another patient.
    expect(
      await refusal(
        enrolment.enrol(id, await signedChallenge(other, patientKey.address, patientKey), registrar),
      ),
    ).toBe('ERR_UNPROCESSABLE: challenge-for-another-patient');
    // Expired: the clock passes the challenge's 10 minutes.
    const stale = await signedChallenge(id, patientKey.address, patientKey);
    vault.clock.now = new Date(vault.clock.now.getTime() + 601_000);
    expect(await refusal(enrolment.enrol(id, stale, registrar))).toBe('ERR_UNPROCESSABLE: challenge-expired');
    // Never issued here.
    expect(
      await refusal(
        enrolment.enrol(id, { nonce: `0x${'ab'.repeat(32)}`, signature: stale.signature }, registrar),
      ),
    ).toBe('ERR_UNPROCESSABLE: challenge-unknown');
    // Used once, then replayed.
    const proof = await signedChallenge(id, patientKey.address, patientKey);
    await enrolment.enrol(id, proof, registrar);
    expect(await refusal(enrolment.enrol(id, proof, registrar))).toBe('ERR_NONCE_USED: challenge-used');
    expect(patientLedgerAddress(await current(id))).toBe(patientKey.address);
    expect(patientLedgerAddress(await current(other))).toBeUndefined();
  });

  it('lets the patient enrol their own first key, and nobody else’s', async () => {
    const id = await newPatient('Abara');
    const self: AccessContext = { who: `Patient/${id}`, purpose: 'PATRQT' };
    expect(
      await refusal(enrolment.issueChallenge(await newPatient('Other'), patientKey.address, self)),
    ).toMatch(/^ERR_FORBIDDEN/);
    await enrolment.enrol(id, await signedChallenge(id, patientKey.address, patientKey, self), self);
    expect(patientLedgerAddress(await current(id))).toBe(patientKey.address);
  });
});

describe('changing an enrolled key needs the privacy officer and a fresh proof', () => {
  it('refuses a registrar’s re-link even with the new key’s proof; the privacy officer re-links, audited', async () => {
    const id = await newPatient('Kowalski');
    await enrolment.enrol(id, await signedChallenge(id, patientKey.address, patientKey), registrar);
    // The insider holds a key and proves it: still not theirs to link to this patient.
    expect(
      await refusal(
        enrolment.enrol(id, await signedChallenge(id, insiderKey.address, insiderKey), registrar),
      ),
    ).toBe('ERR_FORBIDDEN: replacing or removing a patient’s ledger key needs the privacy officer');
    expect(await refusal(enrolment.unlink(id, registrar))).toBe(
      'ERR_FORBIDDEN: replacing or removing a patient’s ledger key needs the privacy officer',
    );
    // Without a proof by the new key, not even the privacy officer.
    expect(
      await refusal(
        enrolment.enrol(id, await signedChallenge(id, newPatientKey.address, insiderKey, officer), officer),
      ),
    ).toBe('ERR_SIGNATURE_INVALID: signature-mismatch');
    const relinked = await enrolment.enrol(
      id,
      await signedChallenge(id, newPatientKey.address, newPatientKey, officer),
      officer,
    );
    expect(relinked).toMatchObject({
      address: newPatientKey.address,
      previous: patientKey.address,
      changed: true,
    });
    expect(patientLedgerAddress(await current(id))).toBe(newPatientKey.address);
    const audited = (await auditOf(id)).filter((e) =>
      e.entity?.some((x) => x.what?.reference === `Patient/${id}/$enrol-ledger-key`),
    );
    expect(audited.map((e) => [e.outcome, e.agent?.[0]?.who?.reference])).toEqual([
      ['0', 'Practitioner/reg-1'],
      ['4', 'Practitioner/reg-1'],
      ['4', 'Practitioner/reg-1'],
      ['0', 'Practitioner/po-1'],
    ]);
    expect(audited[3]?.outcomeDesc).toContain(`replacing ${patientKey.address}`);
    const unlinked = await enrolment.unlink(id, officer);
    expect(unlinked).toMatchObject({ address: undefined, previous: newPatientKey.address, changed: true });
    expect(patientLedgerAddress(await current(id))).toBeUndefined();
  });
});
