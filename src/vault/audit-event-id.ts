import { pooledRandomBytes } from './random-pool.js';

/**
 * A time-ordered id for a new AuditEvent: a UUID version 7 (RFC 9562 §5.7: 48-bit Unix time in
 * milliseconds, version 0111, 12 random bits, variant 10, 62 random bits). Every read writes one
 * AuditEvent, and its id is a key of the record's B-tree indexes (primary key, current version,
 * export order within the patient): a random version-4 id dirtied a random page of each of them per
 * read, while ids that grow with time append at their right edge, so one page takes many entries
 * (issue 16: bytes written per read 75 → 43 KB with this alone). The time it names is the
 * AuditEvent's own `recorded`, already in the resource; 74 random bits keep ids of one millisecond,
 * and of different processes, distinct.
 */
export function createAuditEventId(
  now: Date,
  random: (length: number) => Uint8Array = pooledRandomBytes,
): string {
  const bytes = random(16);
  let ms = Math.max(0, Math.floor(now.getTime()));
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
