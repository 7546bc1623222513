import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isCareLedgerError } from '../errors/index.js';
import {
  PROOF_CHECKS,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifySubtreeConsistencyProof,
  verifySubtreeInclusionProof,
} from './verify-proof.js';

// Vectors from github.com/transparency-dev/merkle testdata (Apache-2.0); see the SOURCE.md beside them.
const ROOT = join(import.meta.dirname, '../../test/vectors/transparency-dev-merkle/testdata');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const proofOf = (p: string[] | null): Uint8Array[] => (p ?? []).map(b64);

interface Probe {
  file: string;
  wantErr: boolean;
  run: () => void;
}

function load(kind: string, toRun: (v: Record<string, never>) => () => void): Probe[] {
  return walk(join(ROOT, kind)).map((path) => {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Record<string, never> & { wantErr: boolean };
    return { file: relative(ROOT, path), wantErr: v.wantErr, run: toRun(v) };
  });
}

interface InclusionJson {
  leafIdx: number;
  treeSize: number;
  start: number;
  end: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
}
interface ConsistencyJson {
  size1: number;
  size2: number;
  start: number;
  end: number;
  size: number;
  root1: string;
  root2: string;
  proof: string[] | null;
}

const suites: Record<string, Probe[]> = {
  inclusion: load('inclusion', (raw) => {
    const v = raw as unknown as InclusionJson;
    return () => verifyInclusionProof(b64(v.leafHash), v.leafIdx, v.treeSize, proofOf(v.proof), b64(v.root));
  }),
  consistency: load('consistency', (raw) => {
    const v = raw as unknown as ConsistencyJson;
    return () => verifyConsistencyProof(v.size1, v.size2, proofOf(v.proof), b64(v.root1), b64(v.root2));
  }),
  subtreeinclusion: load('subtreeinclusion', (raw) => {
    const v = raw as unknown as InclusionJson;
    return () =>
      verifySubtreeInclusionProof(b64(v.leafHash), v.leafIdx, v.start, v.end, proofOf(v.proof), b64(v.root));
  }),
  subtreeconsistency: load('subtreeconsistency', (raw) => {
    const v = raw as unknown as ConsistencyJson;
    return () =>
      verifySubtreeConsistencyProof(v.start, v.end, v.size, proofOf(v.proof), b64(v.root1), b64(v.root2));
  }),
};

describe('transparency-dev/merkle vectors', () => {
  test('all 518 vector files are loaded', () => {
    const counts = Object.fromEntries(Object.entries(suites).map(([k, v]) => [k, v.length]));
    expect(counts).toEqual({
      inclusion: 98,
      consistency: 98,
      subtreeinclusion: 204,
      subtreeconsistency: 118,
    });
  });

  for (const [kind, probes] of Object.entries(suites)) {
    describe(kind, () => {
      test.each(probes.filter((p) => !p.wantErr).map((p) => [p.file, p] as const))('accepts %s', (_f, p) => {
        expect(() => p.run()).not.toThrow();
      });
      test.each(probes.filter((p) => p.wantErr).map((p) => [p.file, p] as const))('rejects %s', (_f, p) => {
        let caught: unknown;
        try {
          p.run();
        } catch (e) {
          caught = e;
        }
        expect(isCareLedgerError(caught)).toBe(true);
        if (!isCareLedgerError(caught)) return;
        expect(caught.code).toBe('ERR_LOG_PROOF_INVALID');
        expect(PROOF_CHECKS).toContain(caught.details.check);
      });
    });
  }
});
