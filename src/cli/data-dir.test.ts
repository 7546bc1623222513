import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeDir, resolveNodeUrl } from './data-dir.js';
import { UsageError } from './exit-codes.js';

const empty = mkdtempSync(join(tmpdir(), 'careledger-no-demo-'));
const demo = mkdtempSync(join(tmpdir(), 'careledger-demo-'));
for (const [name, port] of [
  ['hospital', 18701],
  ['lab', 18702],
] as const) {
  mkdirSync(nodeDir(demo, name), { recursive: true });
  writeFileSync(
    join(nodeDir(demo, name), 'node.json'),
    JSON.stringify({ name, publicUrl: `http://127.0.0.1:${port}` }),
  );
}
afterAll(() => {
  rmSync(empty, { recursive: true, force: true });
  rmSync(demo, { recursive: true, force: true });
});

describe('resolveNodeUrl', () => {
  it("defaults to the demo's hospital when a demo data folder is there", () => {
    expect(resolveNodeUrl(demo, undefined)).toBe('http://127.0.0.1:18701');
  });

  it('takes a URL as it is, and a demo member by its folder name', () => {
    expect(resolveNodeUrl(demo, 'https://node.example/')).toBe('https://node.example');
    expect(resolveNodeUrl(demo, 'lab')).toBe('http://127.0.0.1:18702');
  });

  it('says what to add when there is neither a --node nor a demo folder', () => {
    expect(() => resolveNodeUrl(empty, undefined)).toThrow(UsageError);
    expect(() => resolveNodeUrl(empty, undefined)).toThrow(/add --node <url>/);
    expect(() => resolveNodeUrl(demo, 'pharmacy')).toThrow(/give --node http/);
  });
});
