import { CareLedgerError } from '../errors/index.js';
import { decodeBase64, encodeBase64, parseDecimal } from './base64.js';
import { HASH_SIZE } from './merkle-hash.js';

/** The body of a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint, "Note text"). */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Opaque, non-empty extension lines (NOT RECOMMENDED by the spec; not auditable). */
  readonly extensions?: readonly string[];
}

function fail(reason: string, message: string): never {
  throw new CareLedgerError('ERR_LOG_CHECKPOINT_INVALID', message, { details: { reason } });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject.
const CONTROL = /[\u0000-\u001f]/;

function checkLine(line: string, reason: string, what: string): void {
  if (line.length === 0) fail(reason, `${what} is empty`);
  if (CONTROL.test(line)) fail(reason, `${what} contains a control character`);
}

/** Formats the checkpoint note text: origin, decimal size, base64 root, extension lines, each + "\n". */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  checkLine(origin, 'origin', 'origin');
  if (!Number.isSafeInteger(size) || size < 0) fail('size', 'tree size is not a non-negative safe integer');
  if (rootHash.length !== HASH_SIZE) fail('root-hash', 'root hash is not 32 bytes');
  for (const ext of extensions) checkLine(ext, 'extension', 'extension line');
  return [origin, String(size), encodeBase64(rootHash), ...extensions].map((l) => `${l}\n`).join('');
}

/** Strict parser for checkpoint note text (not the signatures: see verifyNote). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) fail('not-newline-terminated', 'checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) fail('truncated', 'checkpoint needs origin, size and root hash lines');
  const [origin = '', sizeText = '', rootText = '', ...extensions] = lines;
  checkLine(origin, 'origin', 'origin');
  const size = parseDecimal(sizeText);
  if (size === undefined) fail('size', 'tree size is not a decimal without leading zeros');
  const rootHash = decodeBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE)
    fail('root-hash', 'root hash is not base64 of 32 bytes');
  for (const ext of extensions) checkLine(ext, 'extension', 'extension line');
  return Object.freeze(
    extensions.length > 0
      ? { origin, size, rootHash, extensions: Object.freeze(extensions) }
      : { origin, size, rootHash },
  );
}
