import { describe, expect, test } from 'vitest';
import { createAuditEventId } from './audit-event-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createAuditEventId (RFC 9562 §5.7, UUID version 7)', () => {
  test('RFC 9562 Appendix A.6 test vector: time 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F', () => {
    // The vector's random bits, placed where the generator takes them (bytes 6-15; 0-5 are the time).
    const random = () =>
      Uint8Array.from(Buffer.from('000000000000_0cc3_98c4dc0c0c07398f'.replaceAll('_', ''), 'hex'));
    expect(createAuditEventId(new Date(0x017f22e279b0), random)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
  });

  test('a version 7 UUID whose order follows the clock, distinct within one millisecond', () => {
    const at = (ms: number) => createAuditEventId(new Date(ms));
    const same = new Set(Array.from({ length: 1000 }, () => at(1_765_000_000_000)));
    expect(same.size).toBe(1000);
    for (const id of same) expect(id).toMatch(UUID_V7);
    const times = [
      1_765_000_000_000, 1_765_000_000_001, 1_765_000_000_256, 1_765_000_065_536, 1_800_000_000_000,
    ];
    const ids = times.map(at);
    expect([...ids].sort()).toEqual(ids);
  });
});
