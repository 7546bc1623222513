import { describe, expect, test } from 'vitest';
import { parseBindAddress, workerExecArgv } from './start-member-processes.js';

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

describe('worker processes', () => {
  test('get a 64 MiB young generation unless the primary was started with a size of its own', () => {
    expect(workerExecArgv(['--import', 'tsx'])).toEqual(['--import', 'tsx', '--max-semi-space-size=64']);
    expect(workerExecArgv(['--max-semi-space-size=16'])).toEqual(['--max-semi-space-size=16']);
  });
});
