import { describe, expect, test } from 'vitest';
import { parseBindAddress } from './start-member-processes.js';

describe('node start --host', () => {
  test('takes an IP address of this machine, v4 or v6, or localhost', () => {
    expect(parseBindAddress('10.0.1.21')).toBe('10.0.1.21');
    expect(parseBindAddress('::1')).toBe('::1');
    expect(parseBindAddress('localhost')).toBe('localhost');
  });

  test('refuses a name or anything else, with the flag in the message', () => {
    for (const text of ['', 'db.example', '10.0.1', '10.0.1.21:8443', ' 10.0.1.21'])
      expect(() => parseBindAddress(text), text).toThrow(/--host is an IP address/);
  });
});
