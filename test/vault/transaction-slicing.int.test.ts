/**
 * Issue 16: a transaction never holds the event loop for the whole Bundle. Its validation, indexing
 * and sealing give the loop a turn every ENTRIES_PER_SLICE entries, so a request arriving meanwhile
 * (an I/O callback) is served between slices; the commit stays one, atomic.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { ENTRIES_PER_SLICE } from '../../src/vault/operations/transaction.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const ENTRIES = 48;

function bundle(patientId: string, broken = false) {
  const entry = [
    {
      resource: { resourceType: 'Patient', id: patientId },
      request: { method: 'PUT', url: `Patient/${patientId}` },
    },
    ...Array.from({ length: ENTRIES - 1 }, (_, i) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resource: {
        resourceType: 'Observation',
        status: i === ENTRIES - 2 && broken ? 'not-a-status' : 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${patientId}` },
        valueQuantity: { value: 60 + i, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      },
      request: { method: 'POST', url: 'Observation' },
    })),
  ];
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/** Counts turns of the event loop (setImmediate callbacks) until stopped. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      running = false;
      return turns;
    },
  };
}

let vault: TestVault;
beforeEach(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
});
afterEach(() => vault.close());

describe('transaction slicing', () => {
  it('gives the event loop a turn every few entries while validating, indexing and sealing, and commits once', async () => {
    const logSize = vault.log.size;
    const turns = countTurns();
    const results = await vault.repo.transaction(bundle('p-slices'), clinician);
    const counted = turns.stop();
    expect(results).toHaveLength(ENTRIES);
    // Two passes (validation; indexing and sealing) each yield every ENTRIES_PER_SLICE entries.
    expect(counted).toBeGreaterThanOrEqual((2 * ENTRIES) / ENTRIES_PER_SLICE - 1);
    // One commit: every version and the one AuditEvent of the patient, in consecutive log entries.
    expect(vault.log.size - logSize).toBe(ENTRIES + 1);
  });

  it('writes nothing when an entry late in the Bundle is invalid, though it yielded before reaching it', async () => {
    const logSize = vault.log.size;
    const turns = countTurns();
    await expect(vault.repo.transaction(bundle('p-broken', true), clinician)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(turns.stop()).toBeGreaterThan(1);
    expect(vault.log.size).toBe(logSize);
    await expect(vault.repo.read('Patient', 'p-broken', clinician)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });
});
