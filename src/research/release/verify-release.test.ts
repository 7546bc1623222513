import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SAFE_HARBOR_PROFILE_JSON } from '../safe-harbor-profile.js';
import {
  canonicalJson,
  hashDeidProfile,
  hashReleaseManifest,
  RELEASE_MANIFEST_VERSION,
  type ReleaseManifest,
  sha256Hex,
} from './release-manifest.js';
import { type AnchoredReleaseJson, verifyRelease } from './verify-release.js';

const STUDY = `0x${'ab'.repeat(32)}` as const;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function download(files: Record<string, string>): { dir: string; manifest: ReleaseManifest } {
  const dir = mkdtempSync(join(tmpdir(), 'release-verify-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const manifest: ReleaseManifest = {
    transactionTime: '2026-12-07T10:00:00.000Z',
    request: `http://node.test/research/studies/${STUDY}/$export`,
    requiresAccessToken: true,
    output: Object.entries(files).map(([name, text]) => ({
      type: name.split('-')[0] as string,
      url: `http://node.test/research/studies/${STUDY}/$export-file/job-1/${name}`,
      count: text.split('\n').filter((l) => l !== '').length,
      extension: { sha256: sha256Hex(text).slice(2) },
    })),
    error: [],
    extension: {
      format: RELEASE_MANIFEST_VERSION,
      studyId: STUDY,
      member: `0x${'11'.repeat(20)}`,
      profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
      consentBlock: '42',
      k: 3,
      counts: {
        cohort: 5,
        contributors: 4,
        records: 3,
        suppressedPatients: 1,
        suppressedRecords: 2,
        equivalenceClasses: 2,
        suppressedClasses: 1,
        smallestReleasedClass: 4,
      },
    },
  };
  return { dir, manifest };
}

function anchorOf(manifest: ReleaseManifest): AnchoredReleaseJson {
  return {
    studyId: STUDY,
    manifestHash: hashReleaseManifest(manifest),
    profileHash: manifest.extension.profileHash,
    consentBlock: '42',
    records: 3,
    suppressed: 1,
  };
}

const FILES = {
  'Patient-1.ndjson': '{"resourceType":"Patient"}\n',
  'Observation-1.ndjson': '{"a":1}\n{"a":2}\n',
};

describe('verifyRelease', () => {
  it('accepts a download whose files and manifest hash match the anchor', async () => {
    const { dir, manifest } = download(FILES);
    const anchored = anchorOf(manifest);
    const result = await verifyRelease(JSON.parse(JSON.stringify(manifest)), dir, async (study, hash) =>
      study === STUDY && hash === anchored.manifestHash ? anchored : undefined,
    );
    expect(result.files.map((f) => f.name)).toEqual(['Patient-1.ndjson', 'Observation-1.ndjson']);
  });

  it('names the tampered file', async () => {
    const { dir, manifest } = download(FILES);
    writeFileSync(join(dir, 'Observation-1.ndjson'), '{"a":1}\n{"a":3}\n');
    await expect(verifyRelease(manifest, dir, async () => anchorOf(manifest))).rejects.toMatchObject({
      code: 'ERR_PRECONDITION_FAILED',
      message: expect.stringContaining('Observation-1.ndjson'),
      details: { reason: 'file-hash-mismatch', file: 'Observation-1.ndjson' },
    });
  });

  it('names a missing file', async () => {
    const { dir, manifest } = download(FILES);
    rmSync(join(dir, 'Patient-1.ndjson'));
    await expect(verifyRelease(manifest, dir, async () => anchorOf(manifest))).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      details: { file: 'Patient-1.ndjson', reason: 'missing' },
    });
  });

  it('refuses a manifest altered after anchoring, and one that contradicts its anchor', async () => {
    const { dir, manifest } = download(FILES);
    const anchored = anchorOf(manifest);
    const lookup = async (_: string, hash: string) => (hash === anchored.manifestHash ? anchored : undefined);
    const fewer = {
      ...manifest,
      extension: { ...manifest.extension, counts: { ...manifest.extension.counts, suppressedPatients: 0 } },
    };
    await expect(verifyRelease(fewer, dir, lookup)).rejects.toMatchObject({
      details: { reason: 'not-anchored' },
    });
    await expect(
      verifyRelease(manifest, dir, async () => ({ ...anchored, consentBlock: '41' })),
    ).rejects.toMatchObject({ details: { reason: 'anchor-mismatch', field: 'consentBlock' } });
  });
});

describe('canonical JSON and hashes', () => {
  it('sorts keys at every level, so formatting and key order do not change a hash', () => {
    expect(canonicalJson({ b: [1, { d: 'x', c: null }], a: true })).toBe(
      '{"a":true,"b":[1,{"c":null,"d":"x"}]}',
    );
    const { manifest } = download(FILES);
    const reordered = JSON.parse(JSON.stringify(manifest, Object.keys(manifest).reverse()));
    expect(hashReleaseManifest({ ...reordered, ...manifest })).toBe(hashReleaseManifest(manifest));
  });

  it('gives the Safe Harbor profile one hash, and another for any change to it', () => {
    const hash = hashDeidProfile(SAFE_HARBOR_PROFILE_JSON);
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(hashDeidProfile({ ...SAFE_HARBOR_PROFILE_JSON, name: 'other' })).not.toBe(hash);
  });
});
