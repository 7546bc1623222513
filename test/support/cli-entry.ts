import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * How a test starts the CLI in a child process (`careledger node start`, `careledger dev`, a README
 * command). Under `vitest run`, test/support/build-test-cli.ts bundles src/cli/main.ts once per run
 * and names the bundle in CARELEDGER_CLI_ENTRY: a child then loads one prebuilt file (about 0.7 s of
 * CPU) instead of transpiling the sources through tsx (about 2.5 s), and the demo's member processes
 * run the same bundle (src/cli/commands/dev-consortium.ts reads the variable). Outside vitest (a
 * bench, a script) the variable is unset and the child runs the sources through tsx, as before.
 * Either way the child runs this checkout's sources: the bundle is built from them at the run's start.
 */
export const CLI_ENTRY_VARIABLE = 'CARELEDGER_CLI_ENTRY';

/** src/cli/main.ts of this checkout. */
export const CLI_SOURCE = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** `node`'s arguments, before the CLI's own, that run this checkout's CLI (from any working folder). */
export function cliNodeArgs(): string[] {
  const prebuilt = process.env[CLI_ENTRY_VARIABLE];
  if (prebuilt !== undefined && prebuilt !== '') return [prebuilt];
  return ['--import', createRequire(import.meta.url).resolve('tsx'), CLI_SOURCE];
}
