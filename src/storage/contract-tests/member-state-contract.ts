import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { PolicyStore } from '../../claims/policy-store.js';
import { POLICY_JSON } from '../../claims/synthea-claim.fixture.js';
import { CareLedgerError } from '../../errors/index.js';
import { readSealedNdjson, SealedNdjsonWriter } from '../../export/sealed-ndjson-file.js';
import { canonicalJson } from '../../fhir/canonical-json.js';
import { type HostSecret, verifySharedSecrets } from '../../node/shared-secrets.js';
import { writeFileDurably } from '../write-file-durably.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const secret = (name: string, value: string, createdNow = false): HostSecret => ({
  name,
  source: `/srv/node/${name}`,
  bytes: new Uint8Array(Buffer.from(value)),
  createdNow,
});

async function refusal(promise: Promise<unknown>): Promise<CareLedgerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CareLedgerError))
    throw new Error(`expected a CareLedgerError, got ${String(error)}`);
  return error;
}

async function text(frames: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of frames) parts.push(Buffer.from(part));
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The member's state that used to live in one host's node folder (decision 0033), on every adapter:
 * each test reads through a second connection what the first wrote, as another host of the member.
 */
export function describeMemberStateContract(adapter: StorageAdapter): void {
  describe(`member state shared by hosts (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('the first host records secret fingerprints; a host with another or a newly made secret is refused', async () => {
      const hostA = under.memberState.secretFingerprints;
      const hostB = under.otherMemberState().secretFingerprints;
      const first = await verifySharedSecrets(hostA, [
        secret('claims-secret', 'aa'),
        secret('ledger-key', 'kk'),
      ]);
      expect(first.recorded).toEqual(['claims-secret', 'ledger-key']);
      // The same secrets on host B: accepted, nothing recorded again.
      expect(
        await verifySharedSecrets(hostB, [secret('claims-secret', 'aa'), secret('ledger-key', 'kk')]),
      ).toEqual({
        recorded: [],
      });
      // A copy that differs, and one this host only just created: both named, nothing recorded.
      const error = await refusal(
        verifySharedSecrets(hostB, [
          secret('claims-secret', 'bb'),
          secret('ledger-key', 'zz', true),
          secret('supply-key', 'ss'),
        ]),
      );
      expect(error.code).toBe('ERR_CONFIG');
      expect(error.message).toContain('/srv/node/claims-secret');
      expect(error.message).toContain('/srv/node/ledger-key');
      expect(error.message).not.toContain('bb');
      expect(error.details).toMatchObject({
        reason: 'secret-differs',
        secrets: [
          { name: 'claims-secret', reason: 'secret-differs' },
          { name: 'ledger-key', reason: 'secret-missing' },
        ],
      });
      expect(await hostA.fingerprint('supply-key')).toBeUndefined();
      // A secret the database records but this host lacks.
      const missing = await refusal(
        verifySharedSecrets(hostB, [
          { name: 'ledger-key', source: '/srv/node/ledger-key', bytes: undefined, createdNow: false },
        ]),
      );
      expect(missing.details).toMatchObject({ reason: 'secret-missing' });
    });

    test('two hosts making their first secret at once: one fingerprint wins, the other host is refused', async () => {
      const hostA = under.memberState.secretFingerprints;
      const hostB = under.otherMemberState().secretFingerprints;
      const results = await Promise.allSettled([
        verifySharedSecrets(hostA, [secret('research-pseudonym-secret', 'one', true)]),
        verifySharedSecrets(hostB, [secret('research-pseudonym-secret', 'two', true)]),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    });

    test('a policy published through one host is in force on the other; a version is kept once', async () => {
      const hostA = new PolicyStore(under.memberState.benefitPolicies);
      const hostB = new PolicyStore(under.otherMemberState().benefitPolicies);
      const published = await hostA.save(POLICY_JSON);
      expect((await hostB.get(published.policy.version))?.hash).toBe(published.hash);
      expect((await hostB.inForce(published.policy.effective.start))?.policy.version).toBe(
        published.policy.version,
      );
      const again = await refusal(hostB.save(POLICY_JSON));
      expect(again.code).toBe('ERR_PRECONDITION_FAILED');
      expect((await hostA.list()).map((p) => p.hash)).toEqual([published.hash]);
    });

    test("an earlier version's policy files move into the database on first use", async () => {
      const folder = mkdtempSync(join(tmpdir(), 'careledger-policies-'));
      try {
        mkdirSync(folder, { recursive: true });
        writeFileDurably(join(folder, 'old.json'), `${canonicalJson(POLICY_JSON)}\n`);
        const upgraded = new PolicyStore(under.memberState.benefitPolicies, folder);
        expect(await upgraded.list()).toHaveLength(1);
        // The other host has no folder: it reads the moved version from the database.
        expect(await new PolicyStore(under.otherMemberState().benefitPolicies).list()).toHaveLength(1);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });

    test('a sealed export file written by one host is read by the other, and removed with its job', async () => {
      const key = new Uint8Array(32).fill(9);
      const binding = { jobId: 'job-1', fileName: 'Patient-1.ndjson' };
      await under.memberState.exportFiles.prepare('job-1');
      const writer = await SealedNdjsonWriter.create(
        await under.memberState.exportFiles.create('job-1', binding.fileName),
        key,
        binding,
      );
      const lines = Array.from({ length: 3 }, (_, i) =>
        JSON.stringify({ resourceType: 'Patient', id: `p${i}` }),
      );
      await writer.append(lines);
      await writer.close();
      const other = under.otherMemberState().exportFiles;
      expect(await text(readSealedNdjson(other.frames('job-1', binding.fileName), key, binding))).toBe(
        `${lines.join('\n')}\n`,
      );
      // Bound to its job: the same frames under another job id do not open.
      await expect(
        text(readSealedNdjson(other.frames('job-1', binding.fileName), key, { ...binding, jobId: 'job-2' })),
      ).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
      await other.remove('job-1');
      await expect(
        text(readSealedNdjson(under.memberState.exportFiles.frames('job-1', binding.fileName), key, binding)),
      ).rejects.toBeDefined();
    });
  });
}
