/**
 * Verification of a downloaded study release against the chain: every file's SHA-256 against the
 * manifest, then the manifest's own hash against the release anchored in the ResearchRegistry (and
 * what the anchor holds: profile, consent block, counts). Failures are typed errors naming what
 * failed (a file by its name), never data.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import {
  fileNameOf,
  hashReleaseManifest,
  parseReleaseManifest,
  type ReleaseManifest,
} from './release-manifest.js';

/** The anchor as `GET /research/studies/{id}/releases/{hash}` answers it. */
export interface AnchoredReleaseJson {
  readonly studyId: string;
  readonly manifestHash: string;
  readonly profileHash: string;
  readonly consentBlock: string;
  readonly records: number;
  readonly suppressed: number;
}

export interface VerifiedRelease {
  readonly manifest: ReleaseManifest;
  readonly manifestHash: Hex;
  readonly files: readonly { readonly name: string; readonly sha256: string }[];
  readonly anchor: AnchoredReleaseJson;
}

async function sha256File(path: string, name: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CareLedgerError('ERR_NOT_FOUND', `the release file ${name} is missing from the download`, {
        details: { file: name, reason: 'missing' },
      });
    }
    throw cause;
  }
  return hash.digest('hex');
}

function mismatch(reason: string, message: string, details: Record<string, unknown> = {}): CareLedgerError {
  return new CareLedgerError('ERR_PRECONDITION_FAILED', message, { details: { reason, ...details } });
}

export async function verifyRelease(
  manifestJson: unknown,
  dir: string,
  lookup: (studyId: Hex, manifestHash: Hex) => Promise<AnchoredReleaseJson | undefined>,
): Promise<VerifiedRelease> {
  const manifest = parseReleaseManifest(manifestJson);
  const files: { name: string; sha256: string }[] = [];
  for (const entry of [...manifest.output, ...manifest.error]) {
    const name = fileNameOf(entry);
    const actual = await sha256File(join(dir, name), name);
    if (actual !== entry.extension.sha256.toLowerCase()) {
      throw mismatch(
        'file-hash-mismatch',
        `the release file ${name} does not match its hash in the manifest`,
        {
          file: name,
        },
      );
    }
    files.push({ name, sha256: actual });
  }
  const manifestHash = hashReleaseManifest(manifest);
  const anchor = await lookup(manifest.extension.studyId, manifestHash);
  if (anchor === undefined) {
    throw mismatch(
      'not-anchored',
      'no release with this manifest hash is anchored for the study (the manifest was altered, or never anchored)',
      {
        manifestHash,
      },
    );
  }
  const expected: Record<string, [unknown, unknown]> = {
    profileHash: [anchor.profileHash.toLowerCase(), manifest.extension.profileHash.toLowerCase()],
    consentBlock: [String(anchor.consentBlock), manifest.extension.consentBlock],
    records: [anchor.records, manifest.extension.counts.records],
    suppressed: [anchor.suppressed, manifest.extension.counts.suppressedPatients],
  };
  for (const [field, [onChain, inManifest]] of Object.entries(expected)) {
    if (onChain !== inManifest) {
      throw mismatch('anchor-mismatch', `the manifest's ${field} differs from the anchored release`, {
        field,
      });
    }
  }
  return { manifest, manifestHash, files, anchor };
}

/** Reads the anchor from a member node (`GET /research/studies/{id}/releases/{hash}`). */
export function createNodeAnchorLookup(
  nodeUrl: string,
  headers: Record<string, string>,
  doFetch: typeof fetch = fetch,
): (studyId: Hex, manifestHash: Hex) => Promise<AnchoredReleaseJson | undefined> {
  const base = nodeUrl.replace(/\/$/, '');
  return async (studyId, manifestHash) => {
    let response: Response;
    try {
      response = await doFetch(`${base}/research/studies/${studyId}/releases/${manifestHash}`, { headers });
    } catch (cause) {
      throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${new URL(base).origin} does not answer`, {
        cause,
      });
    }
    if (response.status === 404) return undefined;
    if (response.status === 401 || response.status === 403) {
      throw new CareLedgerError(
        'ERR_UNAUTHENTICATED',
        `the node refused the anchor lookup (HTTP ${response.status})`,
      );
    }
    if (response.status !== 200)
      throw new CareLedgerError('ERR_UPSTREAM', `the anchor lookup failed (HTTP ${response.status})`);
    return (await response.json()) as AnchoredReleaseJson;
  };
}
