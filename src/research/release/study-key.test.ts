import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createIdentifierPseudonym } from '../study-pseudonym.js';
import { deriveStudyKey, loadOrCreateResearchSecret } from './study-key.js';

const SECRET = new Uint8Array(32).fill(7);
const STUDY_A = `0x${'0a'.repeat(32)}` as const;
const STUDY_B = `0x${'0b'.repeat(32)}` as const;

describe('deriveStudyKey', () => {
  it('gives every member holding the secret the same key for a study, and unrelated keys for two studies', () => {
    const atMemberOne = deriveStudyKey(SECRET, STUDY_A);
    const atMemberTwo = deriveStudyKey(new Uint8Array(SECRET), STUDY_A);
    expect(atMemberOne).toEqual(atMemberTwo);
    expect(atMemberOne.length).toBe(32);
    const ssn = (key: Uint8Array) =>
      createIdentifierPseudonym(key, 'http://hl7.org/fhir/sid/us-ssn', '999-12-3456');
    expect(ssn(atMemberOne)).toBe(ssn(atMemberTwo));
    expect(ssn(deriveStudyKey(SECRET, STUDY_B))).not.toBe(ssn(atMemberOne));
    // Without the secret, the study id alone gives nothing: another secret, another key.
    expect(deriveStudyKey(new Uint8Array(32).fill(8), STUDY_A)).not.toEqual(atMemberOne);
  });

  it('refuses a short secret', () => {
    expect(() => deriveStudyKey(new Uint8Array(16), STUDY_A)).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG' }),
    );
  });
});

describe('loadOrCreateResearchSecret', () => {
  it('creates an owner-only secret once and loads the same one after', () => {
    const dir = mkdtempSync(join(tmpdir(), 'research-secret-'));
    try {
      const path = join(dir, 'research-pseudonym.secret');
      const created = loadOrCreateResearchSecret(path, (size) => new Uint8Array(size).fill(3));
      expect(readFileSync(path, 'utf8').trim()).toBe('03'.repeat(32));
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(loadOrCreateResearchSecret(path)).toEqual(created);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
