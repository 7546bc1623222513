/**
 * The supervisor restarts a crashed anvil until it answers (issue 15, item 9). A restart that failed
 * once used to be the end: "restart failed" was logged, `whenReady` resolved at once, and every
 * relay waited for a chain that never came back (the grant-burst check hung until its 300 s
 * timeout). Now each failed attempt is logged and retried after a growing pause, and `whenReady`
 * waits a bounded time and says how many attempts failed and why.
 *
 * A snapshot that cannot be read makes every start fail; once it is readable again, the next
 * attempt brings the chain back from it.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedChain } from '../../src/chain/index.js';
import { findFreePort } from '../support/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('restart of the embedded chain after a crash', () => {
  it('retries a failed restart until the chain answers, and reports while it does not', async () => {
    const lines: string[] = [];
    const chain = new EmbeddedChain({
      dir: join(dir, 'chain'),
      port: await findFreePort(),
      snapshotIntervalMs: 3_600_000,
      onLog: (line) => lines.push(line),
    });
    await chain.start();
    try {
      const snapshot = await chain.snapshot({ force: true });
      const good = join(dir, 'good-snapshot.json.gz');
      copyFileSync(chain.snapshotPath, good);
      writeFileSync(chain.snapshotPath, 'not a gzip file');
      const startsBefore = chain.starts;

      await chain.kill();
      await expect(chain.whenReady(2_500)).rejects.toThrow(
        /^the chain did not come back within 2\.5 s \(\d+ start attempt\(s\); last failure: .*header/,
      );
      expect(
        lines.filter((line) => /^restart \d+ failed: .*; next attempt in \d+ s$/.test(line)),
      ).not.toEqual([]);

      copyFileSync(good, chain.snapshotPath);
      await chain.whenReady(30_000);
      expect(chain.starts).toBe(startsBefore + 1);
      expect(await chain.blockNumber()).toBeGreaterThanOrEqual(snapshot?.blockNumber ?? 0);
    } finally {
      await chain.stop();
    }
  });
});
