import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FRAME_TARGET_BYTES, readSealedNdjson, SealedNdjsonWriter } from './sealed-ndjson-file.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-sealed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = new Uint8Array(32).fill(7);
const binding = { jobId: 'job-1', fileName: 'Observation-1.ndjson' };

async function readAll(path: string, k = key, b = binding): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of readSealedNdjson(path, k, b)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function reason(task: Promise<unknown>): Promise<string> {
  const error = (await task.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; details?: { reason?: string } } | undefined;
  return `${error?.code}: ${error?.details?.reason}`;
}

/** A file of several frames: lines big enough that a frame closes every few lines. */
async function writeFrames(path: string, lines: string[]): Promise<void> {
  const writer = await SealedNdjsonWriter.create(path, key, binding);
  for (const line of lines) await writer.append([line]);
  await writer.close();
}

const big = (n: number) =>
  JSON.stringify({ resourceType: 'Observation', id: `o${n}`, note: 'x'.repeat(FRAME_TARGET_BYTES / 2) });

describe('sealed NDJSON files', () => {
  it('round-trips lines across frames, and an empty file', async () => {
    const path = join(dir, 'round-trip');
    const lines = [big(1), big(2), big(3), '{"resourceType":"Patient","id":"p"}'];
    await writeFrames(path, lines);
    expect(await readAll(path)).toBe(`${lines.join('\n')}\n`);
    // Nothing of the plaintext is in the file.
    expect(readFileSync(path).includes(Buffer.from('resourceType'))).toBe(false);
    const empty = join(dir, 'empty');
    await (await SealedNdjsonWriter.create(empty, key, binding)).close();
    expect(await readAll(empty)).toBe('');
  });

  it('refuses another key, another job or file name, a flipped bit, a cut-off end and swapped frames', async () => {
    const path = join(dir, 'tamper');
    await writeFrames(path, [big(1), big(2), big(3), big(4), big(5)]);
    const bytes = readFileSync(path);
    expect(await reason(readAll(path, new Uint8Array(32).fill(8)))).toBe('ERR_DECRYPT: frame does not open');
    expect(await reason(readAll(path, key, { ...binding, jobId: 'job-2' }))).toBe(
      'ERR_DECRYPT: frame does not open',
    );
    expect(await reason(readAll(path, key, { ...binding, fileName: 'Patient-1.ndjson' }))).toBe(
      'ERR_DECRYPT: frame does not open',
    );

    const flipped = Buffer.from(bytes);
    flipped[100] = (flipped[100] as number) ^ 1;
    writeFileSync(join(dir, 'flipped'), flipped);
    expect(await reason(readAll(join(dir, 'flipped')))).toBe('ERR_DECRYPT: frame does not open');

    // Frame boundaries, to cut the last frame off and to swap the first two.
    const frames: Buffer[] = [];
    for (let at = 4; at < bytes.length; ) {
      const length = bytes.readUInt32BE(at);
      frames.push(bytes.subarray(at, at + 4 + length));
      at += 4 + length;
    }
    expect(frames.length).toBeGreaterThanOrEqual(3);
    const magic = bytes.subarray(0, 4);
    writeFileSync(join(dir, 'cut'), Buffer.concat([magic, ...frames.slice(0, -1)]));
    expect(await reason(readAll(join(dir, 'cut')))).toBe('ERR_DECRYPT: truncated');
    writeFileSync(
      join(dir, 'swapped'),
      Buffer.concat([magic, frames[1] as Buffer, frames[0] as Buffer, ...frames.slice(2)]),
    );
    expect(await reason(readAll(join(dir, 'swapped')))).toBe('ERR_DECRYPT: frame does not open');
    writeFileSync(join(dir, 'appended'), Buffer.concat([bytes, frames[0] as Buffer]));
    expect(await reason(readAll(join(dir, 'appended')))).toBe('ERR_DECRYPT: data after the last frame');
  });
});
