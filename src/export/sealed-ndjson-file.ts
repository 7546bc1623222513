import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { CareLedgerError } from '../errors/index.js';

/**
 * Export files hold PHI, so they are sealed at rest: AES-256-GCM under a per-job key, in frames
 * written page by page (never the whole export in memory) and opened frame by frame while a client
 * downloads. A GCM tag covers one message, so a file is a sequence of messages, each bound by its
 * associated data to the job, the file name, its position and whether it is the last: frames cannot
 * be moved between files, reordered, dropped or cut off at the end without failing to open (the STREAM
 * construction of Hoang, Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption", 2015).
 *
 * Layout: MAGIC, then frames of [u32 big-endian length of the rest][u8 last][12-byte nonce][ct ‖ tag].
 * Nonces are random (96 bits per frame): a job re-run after a crash rewrites its files under the same
 * key, so counters could repeat a nonce; random nonces keep the collision bound of SP 800-38D §8.3.
 */
const MAGIC = Buffer.from('CLX1');
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const FRAME_HEAD = 4 + 1 + NONCE_SIZE;
/** Lines are gathered into frames of about this many plaintext bytes. */
export const FRAME_TARGET_BYTES = 1024 * 1024;
/** A frame longer than this is refused when reading (a corrupt length must not allocate gigabytes). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** What a file's frames are bound to. */
export interface SealedFileBinding {
  readonly jobId: string;
  readonly fileName: string;
}

function associatedData(binding: SealedFileBinding, index: number, last: boolean): Buffer {
  return Buffer.from(
    `careledger-export-file/1\n${binding.jobId}\n${binding.fileName}\n${index}\n${last ? 1 : 0}`,
  );
}

function sealFrame(
  key: Uint8Array,
  plaintext: Uint8Array,
  binding: SealedFileBinding,
  position: { index: number; last: boolean },
  nonce: Uint8Array,
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
  cipher.setAAD(associatedData(binding, position.index, position.last));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const head = Buffer.alloc(FRAME_HEAD);
  head.writeUInt32BE(1 + NONCE_SIZE + body.length, 0);
  head.writeUInt8(position.last ? 1 : 0, 4);
  Buffer.from(nonce).copy(head, 5);
  return Buffer.concat([head, body]);
}

/**
 * Where a sealed file's frames go, in order: a file in a folder (the layout above), or rows of the
 * member's database (decision 0033), so any host of the member can serve the download. `close` returns
 * once every frame is durable.
 */
export interface FrameSink {
  write(frame: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Stops without making the frames durable (a cancelled job's file, about to be deleted). */
  abandon(): Promise<void>;
}

/** A sink writing the file layout (MAGIC, then frames) to `path`, mode 0600. */
export async function createFileFrameSink(path: string): Promise<FrameSink> {
  const handle = await open(path, 'w', 0o600);
  await handle.write(MAGIC);
  return {
    write: async (frame) => {
      await handle.write(frame);
    },
    close: async () => {
      await handle.sync();
      await handle.close();
    },
    abandon: () => handle.close(),
  };
}

/**
 * Writes one sealed NDJSON file. `append` takes whole lines; they are sealed in frames of about
 * FRAME_TARGET_BYTES; `close` seals the last frame (possibly empty) and makes the file durable.
 */
export class SealedNdjsonWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;
  private closed = false;
  /** Lines written so far. */
  count = 0;

  private constructor(
    private readonly sink: FrameSink,
    private readonly key: Uint8Array,
    private readonly binding: SealedFileBinding,
    private readonly random: (size: number) => Uint8Array,
  ) {}

  /** `target`: a file path, or a sink (ExportFileStore.create). */
  static async create(
    target: string | FrameSink,
    key: Uint8Array,
    binding: SealedFileBinding,
    random: (size: number) => Uint8Array = (size) => randomBytes(size),
  ): Promise<SealedNdjsonWriter> {
    if (key.length !== 32) throw new CareLedgerError('ERR_INTERNAL', 'an export key must be 32 bytes');
    const sink = typeof target === 'string' ? await createFileFrameSink(target) : target;
    return new SealedNdjsonWriter(sink, key, binding, random);
  }

  /** Adds lines (each without its newline); seals a frame whenever enough bytes are gathered. */
  async append(lines: readonly string[]): Promise<void> {
    for (const line of lines) {
      const bytes = Buffer.from(`${line}\n`);
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      this.count++;
      if (this.pendingBytes >= FRAME_TARGET_BYTES) await this.flush(false);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush(true);
    await this.sink.close();
    this.closed = true;
  }

  /** Closes the file without its last frame (a cancelled job's file, about to be deleted). */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.abandon();
  }

  private async flush(last: boolean): Promise<void> {
    const plaintext = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const frame = sealFrame(
      this.key,
      plaintext,
      this.binding,
      { index: this.index, last },
      this.random(NONCE_SIZE),
    );
    this.index++;
    await this.sink.write(frame);
  }
}

function corrupt(reason: string): CareLedgerError {
  // Deliberately vague to the client, as record decryption is (the reason is for the node's log).
  return new CareLedgerError('ERR_DECRYPT', 'the export file cannot be opened', { details: { reason } });
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer | null> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) return read === 0 ? null : buffer.subarray(0, read);
    read += bytesRead;
  }
  return buffer;
}

/** The frames of a file in the folder layout, each whole (head and body), in order. */
export async function* readFileFrames(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const magic = await readExactly(handle, MAGIC.length, 0);
    if (magic === null || !magic.equals(MAGIC)) throw corrupt('not an export file');
    let position = MAGIC.length;
    for (;;) {
      const head = await readExactly(handle, FRAME_HEAD, position);
      if (head === null) return;
      if (head.length < FRAME_HEAD) throw corrupt('truncated');
      const length = head.readUInt32BE(0);
      if (length < 1 + NONCE_SIZE + TAG_SIZE || length > MAX_FRAME_BYTES) throw corrupt('bad frame length');
      const body = await readExactly(handle, length - 1 - NONCE_SIZE, position + FRAME_HEAD);
      if (body === null || body.length < length - 1 - NONCE_SIZE) throw corrupt('truncated');
      position += FRAME_HEAD + body.length;
      yield Buffer.concat([head, body]);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Opens a sealed NDJSON file frame by frame, yielding each frame's plaintext (whole lines). `source`:
 * a file path, or the frames from an ExportFileStore. Throws ERR_DECRYPT for a frame that does not
 * open, and for a file that ends before its last frame or goes on after it.
 */
export async function* readSealedNdjson(
  source: string | AsyncIterable<Uint8Array>,
  key: Uint8Array,
  binding: SealedFileBinding,
): AsyncGenerator<Uint8Array> {
  const frames = typeof source === 'string' ? readFileFrames(source) : source;
  let index = 0;
  let ended = false;
  for await (const bytes of frames) {
    const frame = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (ended) throw corrupt('data after the last frame');
    if (frame.length < FRAME_HEAD + TAG_SIZE) throw corrupt('truncated');
    const length = frame.readUInt32BE(0);
    if (length !== frame.length - 4 || length > MAX_FRAME_BYTES) throw corrupt('bad frame length');
    const last = frame.readUInt8(4) === 1;
    const nonce = frame.subarray(5, FRAME_HEAD);
    const body = frame.subarray(FRAME_HEAD);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
      decipher.setAAD(associatedData(binding, index, last));
      decipher.setAuthTag(body.subarray(body.length - TAG_SIZE));
      plaintext = Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_SIZE)),
        decipher.final(),
      ]);
    } catch {
      throw corrupt('frame does not open');
    }
    index++;
    if (plaintext.length > 0) yield plaintext;
    if (last) ended = true;
  }
  if (!ended) throw corrupt('truncated');
}
