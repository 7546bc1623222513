/**
 * The OpenAPI description of the transparency log and witness (/log, /witness), kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { MAX_ADD_CHECKPOINT_BODY, TLOG_SIZE_CONTENT_TYPE } from '../log/witness.js';
import { errors, logErrorResponse, OCTETS, TEXT, text } from './openapi-helpers.js';
import type { Operation, Parameter, PathItem } from './openapi-types.js';

export const tileLevel: Parameter = {
  name: 'L',
  in: 'path',
  required: true,
  description: 'Tile level, 0..63.',
  schema: { type: 'string', pattern: '^(0|[1-9][0-9]?)$' },
  example: '0',
};
export const tileIndex: Parameter = {
  name: 'N',
  in: 'path',
  required: true,
  description:
    'Tile index in 3-digit groups, all but the last prefixed by x (1234067 → x001/x234/067). It may contain "/", which plain path templating cannot express: clients insert it verbatim.',
  schema: { type: 'string', pattern: '^(x[0-9]{3}/)*[0-9]{3}$' },
  example: 'x001/234',
};
export const tileWidth: Parameter = {
  name: 'W',
  in: 'path',
  required: true,
  description: 'Width of a partial tile, 1..255.',
  schema: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
  example: '17',
};

export function tileOperation(kind: 'hashes' | 'entries', partial: boolean): Operation {
  const what =
    kind === 'hashes'
      ? 'A Merkle tree tile: up to 256 hashes of 32 bytes (c2sp.org/tlog-tiles "Merkle Tree").'
      : 'An entry bundle: up to 256 entries, each a big-endian uint16 length and the entry (c2sp.org/tlog-tiles "Log Entries").';
  return {
    operationId: `getLog${kind === 'hashes' ? 'Tile' : 'EntryBundle'}${partial ? 'Partial' : ''}`,
    summary: `${kind === 'hashes' ? 'Hash tile' : 'Entry bundle'}${partial ? ' (partial)' : ''}`,
    description: `${what} ${
      partial
        ? 'A partial tile of width W, at the right edge of the tree; replaced by wider ones as the log grows.'
        : 'A full tile (width 256): immutable, cacheable forever.'
    }`,
    tags: ['log'],
    parameters: [...(kind === 'hashes' ? [tileLevel] : []), tileIndex, ...(partial ? [tileWidth] : [])],
    responses: {
      '200': {
        description: 'The tile bytes.',
        headers: {
          'Cache-Control': {
            schema: {
              type: 'string',
              examples: [partial ? 'public, max-age=1' : 'public, max-age=31536000, immutable'],
            },
          },
        },
        content: { [OCTETS]: { schema: { type: 'string', contentMediaType: OCTETS } } },
      },
      '400': text('Malformed tile path.'),
      '404': text('The tile is not (yet) in the tree.'),
      '500': logErrorResponse('Internal error'),
      '503': logErrorResponse('The log storage is unavailable'),
    },
  };
}

/** The transparency log: checkpoint, tiles (C2SP tlog-tiles), proofs. */
export function logPaths(): Record<string, PathItem> {
  return {
    '/log/checkpoint': {
      get: {
        operationId: 'getLogCheckpoint',
        summary: 'The latest checkpoint',
        description:
          'A C2SP signed note (c2sp.org/tlog-checkpoint) with the node’s signature and the witness cosignatures gathered so far.',
        tags: ['log'],
        responses: {
          '200': {
            ...text('The signed checkpoint note.'),
            headers: { 'Cache-Control': { schema: { const: 'no-cache' } } },
          },
          '404': text('No checkpoint yet.'),
        },
      },
    },
    '/log/tile/{L}/{N}': { get: tileOperation('hashes', false) },
    '/log/tile/{L}/{N}.p/{W}': { get: tileOperation('hashes', true) },
    '/log/tile/entries/{N}': { get: tileOperation('entries', false) },
    '/log/tile/entries/{N}.p/{W}': { get: tileOperation('entries', true) },
    '/log/proofs': {
      post: {
        operationId: 'getLogProofs',
        summary: 'Many tlog-proofs in one request',
        description:
          'Body { indices: [ … ] } (at most 1,000 non-negative integers). Answers { proofs: { "<index>": "<tlog-proof>" | null } }: each proof exactly as GET /log/proof/{index} serves it, null for an entry no checkpoint covers yet. One round trip for a whole record.',
        tags: ['log'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['indices'] } } },
        },
        responses: {
          '200': {
            description: '{ proofs }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/log/consistency': {
      get: {
        operationId: 'getLogConsistency',
        summary: 'RFC 9162 consistency proof between two checkpointed sizes',
        description:
          'One base64 hash per line (the tlog-witness body format). How a reader brings a checkpoint anchored on the ledger up to the one a proof was served with.',
        tags: ['log'],
        parameters: [
          {
            name: 'old',
            in: 'query',
            required: true,
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
          },
          {
            name: 'new',
            in: 'query',
            required: true,
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
          },
        ],
        responses: {
          '200': text('The proof hashes, one base64 line each.'),
          '400': text('old and new must be decimal sizes, old <= new.'),
          '404': text('new is beyond the latest checkpoint.'),
        },
      },
    },
  };
}

/** An inclusion proof by index, and the witness (C2SP tlog-witness). */
export function logProofPaths(): Record<string, PathItem> {
  return {
    '/log/proof/{index}': {
      get: {
        operationId: 'getLogProof',
        summary: 'An offline-verifiable proof that an entry is in the log',
        description:
          'A C2SP tlog-proof (c2sp.org/tlog-proof): the entry as extra data, its index, the inclusion proof and the latest (cosigned) checkpoint that contains it.',
        tags: ['log'],
        parameters: [
          {
            name: 'index',
            in: 'path',
            required: true,
            description: 'Entry index, decimal, no leading zeros.',
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
            example: '42',
          },
        ],
        responses: {
          '200': {
            ...text('The tlog-proof, starting "c2sp.org/tlog-proof@v1".'),
            headers: {
              'Content-Disposition': {
                schema: { type: 'string', examples: ['attachment; filename="entry-42.tlog-proof"'] },
              },
            },
          },
          '400': text('Not a decimal entry index.'),
          '404': text('The entry is not in a checkpoint yet.'),
          '422': logErrorResponse('The stored log does not verify'),
          '500': logErrorResponse('Internal error'),
          '503': logErrorResponse('The log storage is unavailable'),
        },
      },
    },
    '/witness/add-checkpoint': {
      post: {
        operationId: 'addCheckpoint',
        summary: 'Ask this node to cosign another member’s checkpoint (c2sp.org/tlog-witness)',
        description:
          'Only logs of active consortium members are witnessed, with the keys the ledger publishes. The body is "old <size>", the consistency proof lines (base64), an empty line and the signed checkpoint.',
        tags: ['witness'],
        requestBody: {
          required: true,
          content: {
            [TEXT]: {
              schema: { type: 'string', maxLength: MAX_ADD_CHECKPOINT_BODY },
              example: 'old 0\n\nexample.org/log\n1\n<base64 root>\n\n— example.org/log <base64 signature>\n',
            },
          },
        },
        responses: {
          '200': text('The cosignature line(s) (c2sp.org/tlog-cosignature).'),
          '400': text('Malformed request, or old size beyond the checkpoint.'),
          '403': text('The checkpoint is not signed by a trusted key of that log.'),
          '404': text('Unknown log origin.'),
          '409': {
            description:
              'text/x.tlog.size: old is not the size this witness last cosigned (the body is that size); text/plain: a different root at the size last cosigned.',
            content: {
              [TLOG_SIZE_CONTENT_TYPE]: {
                schema: { type: 'string', pattern: '^[0-9]+\\n$' },
                example: '1\n',
              },
              [TEXT]: { schema: { type: 'string' } },
            },
          },
          '413': text(`The body is larger than ${MAX_ADD_CHECKPOINT_BODY} bytes.`),
          '422': text('The consistency proof does not verify.'),
          '500': text('Internal error.'),
        },
      },
    },
  };
}
