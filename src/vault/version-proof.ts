import { createHash, createHmac } from 'node:crypto';
import type { Extension, Meta, Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';

/**
 * Where a served record version is in its node's transparency log, and the key that opens its keyed
 * hash. The log holds, for each version, only HMAC(versionKey, type ‖ id ‖ version ‖ SHA-256(content))
 * (no PHI in public tiles); versionKey = HMAC(node key, type ‖ id ‖ version) is derived per version, so
 * handing it to a reader who already holds the content lets that reader (another member, the patient)
 * recompute the log entry and check its inclusion proof, and reveals nothing about any other version.
 * Carried in `meta.extension`, the one place every resource type has.
 */
export const VERSION_PROOF_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/version-proof';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The message the version key authenticates: each field on its own line, the content as SHA-256. */
function versionMessage(
  resourceType: string,
  id: string,
  versionId: number,
  canonical: string | Uint8Array,
): string {
  const contentHash = createHash('sha256').update(canonical).digest('hex');
  return `version\n${resourceType}\n${id}\n${versionId}\n${contentHash}`;
}

/**
 * The keyed hash of a version (hex), as logged. `canonical` is '' for a deletion; given as bytes it is
 * the canonical text's UTF-8 (what hashing the text hashes), when the caller has encoded it already.
 */
export function computeVersionHash(
  versionKey: Uint8Array,
  resourceType: string,
  id: string,
  versionId: number,
  canonical: string | Uint8Array,
): string {
  return createHmac('sha256', versionKey)
    .update(versionMessage(resourceType, id, versionId, canonical))
    .digest('hex');
}

/** The log entry for a record version: only its keyed hash (ARCHITECTURE §2: no PHI in the log). */
export function formatVersionEntry(versionHash: string): Uint8Array {
  return encoder.encode(JSON.stringify({ t: 'version', h: versionHash }));
}

export interface VersionProofReference {
  readonly index: number;
  readonly key: Uint8Array;
}

/** The served form of a version: the resource with its log index and version key in meta.extension. */
export function withVersionProof(resource: Resource, proof: VersionProofReference): Resource {
  const meta: Meta = resource.meta ?? {};
  return {
    ...resource,
    meta: {
      ...meta,
      extension: [
        ...(meta.extension ?? []),
        {
          url: VERSION_PROOF_EXTENSION,
          extension: [
            { url: 'index', valueInteger: proof.index },
            { url: 'key', valueBase64Binary: Buffer.from(proof.key).toString('base64') },
            { url: 'proof', valueUrl: `/log/proof/${proof.index}` },
          ],
        },
      ],
    },
  } as Resource;
}

function invalid(reason: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_LOG_PROOF_INVALID', message, { details: { reason } });
}

/**
 * Splits a served version into the resource as stored and its proof reference. Throws
 * ERR_LOG_PROOF_INVALID (`no-version-proof`) if the resource carries none.
 */
export function parseVersionProof(served: Resource): { resource: Resource; proof: VersionProofReference } {
  const all = served.meta?.extension ?? [];
  const mine = all.filter((e) => e.url === VERSION_PROOF_EXTENSION);
  if (mine.length !== 1)
    throw invalid('no-version-proof', 'the record carries no version proof (or more than one)');
  const part = (url: string): Extension | undefined => mine[0]?.extension?.find((e) => e.url === url);
  const index = part('index')?.valueInteger;
  const key = part('key')?.valueBase64Binary;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || typeof key !== 'string')
    throw invalid('no-version-proof', 'the version proof lacks its index or key');
  const rest = all.filter((e) => e.url !== VERSION_PROOF_EXTENSION);
  const { extension: _drop, ...metaWithout } = served.meta as Meta;
  const meta = rest.length === 0 ? metaWithout : { ...metaWithout, extension: rest };
  const { meta: _meta, ...withoutMeta } = served;
  const resource = (Object.keys(meta).length === 0 ? withoutMeta : { ...withoutMeta, meta }) as Resource;
  return { resource, proof: { index, key: Buffer.from(key, 'base64') } };
}

/** The log entry a served version commits to, recomputed from its content and disclosed key. */
export function versionEntryOf(served: Resource): Uint8Array {
  const { resource, proof } = parseVersionProof(served);
  const versionId = Number(resource.meta?.versionId);
  if (resource.id === undefined || !Number.isSafeInteger(versionId))
    throw invalid('version-mismatch', 'the record has no id or version');
  return formatVersionEntry(
    computeVersionHash(proof.key, resource.resourceType, resource.id, versionId, canonicalJson(resource)),
  );
}

/**
 * Checks a served version against the bytes of its log entry: the keyed hash recomputed from the
 * content and the disclosed version key must be the entry's `h`. Throws ERR_LOG_PROOF_INVALID with
 * reason `version-mismatch` (the content or its identity was altered) or `not-a-version-entry`.
 */
export function verifyVersionAgainstEntry(served: Resource, entry: Uint8Array): void {
  const { resource, proof } = parseVersionProof(served);
  let logged: unknown;
  try {
    logged = JSON.parse(decoder.decode(entry));
  } catch {
    throw invalid('not-a-version-entry', 'the log entry is not a record version');
  }
  const h = (logged as { t?: unknown; h?: unknown }).h;
  if ((logged as { t?: unknown }).t !== 'version' || typeof h !== 'string')
    throw invalid('not-a-version-entry', 'the log entry is not a record version');
  const versionId = Number(resource.meta?.versionId);
  if (resource.id === undefined || !Number.isSafeInteger(versionId))
    throw invalid('version-mismatch', 'the record has no id or version');
  const expected = computeVersionHash(
    proof.key,
    resource.resourceType,
    resource.id,
    versionId,
    canonicalJson(resource),
  );
  if (expected !== h) throw invalid('version-mismatch', 'the record does not match its log entry');
}
