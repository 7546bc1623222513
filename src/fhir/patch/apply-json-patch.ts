import type { Resource } from '@medplum/fhirtypes';
import { applyPatch, type Operation } from 'rfc6902';
import { CareLedgerError } from '../../errors/index.js';

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Checks the shape of an RFC 6902 document (§4: an array of operation objects); throws ERR_INVALID_INPUT. */
export function parseJsonPatch(body: unknown): Operation[] {
  if (!Array.isArray(body)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a JSON Patch is an array of operations (RFC 6902 §3)', {
      details: { parameter: 'body' },
    });
  }
  body.forEach((op, i) => {
    const o = op as Record<string, unknown>;
    const fromNeeded = o?.op === 'move' || o?.op === 'copy';
    const valueNeeded = o?.op === 'add' || o?.op === 'replace' || o?.op === 'test';
    if (
      o === null ||
      typeof o !== 'object' ||
      typeof o.op !== 'string' ||
      !OPS.has(o.op) ||
      typeof o.path !== 'string' ||
      (o.path !== '' && !o.path.startsWith('/')) ||
      (fromNeeded && typeof o.from !== 'string') ||
      (valueNeeded && !('value' in o))
    ) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `JSON Patch operation ${i} is malformed (RFC 6902 §4)`, {
        details: { parameter: `[${i}]` },
      });
    }
  });
  return body as Operation[];
}

/**
 * Applies an RFC 6902 JSON Patch to a copy of `resource` and returns the copy. Atomic (§5): the
 * first operation that fails (a missing path, a failed `test`) stops it and nothing is returned, so
 * nothing half-applied can be stored. Throws ERR_UNPROCESSABLE naming the operation.
 */
export function applyJsonPatch(resource: Resource, body: unknown): Resource {
  const operations = parseJsonPatch(body);
  const copy = structuredClone(resource) as unknown as Record<string, unknown>;
  const results = applyPatch(copy, operations);
  const failed = results.findIndex((r) => r !== null);
  if (failed >= 0) {
    const reason = results[failed]?.name ?? 'Error';
    throw new CareLedgerError(
      'ERR_UNPROCESSABLE',
      `JSON Patch operation ${failed} cannot be applied (${reason === 'TestError' ? 'test failed' : 'no such path'})`,
      { details: { parameter: `[${failed}]` } },
    );
  }
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) {
    throw new CareLedgerError('ERR_UNPROCESSABLE', 'the patch does not leave a resource', {
      details: { parameter: 'body' },
    });
  }
  return pruneEmpty(copy) as unknown as Resource;
}

/**
 * Drops the arrays and objects a patch left empty (removing the last `given` leaves `given: []`,
 * which R4 JSON forbids, ele-1): JSON Patch has no way to say "remove the list with its last item".
 */
function pruneEmpty(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(pruneEmpty).filter((item) => !isEmpty(item));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const pruned = pruneEmpty(value);
    if (!isEmpty(pruned)) out[key] = pruned;
  }
  return out;
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0;
}
