import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CareLedgerError } from '../errors/index.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/**
 * The anvil executable shipped in the `@foundry-rs/anvil-<os>-<arch>` npm package.
 * We run the binary itself, not the package's `bin.mjs` wrapper: killing the wrapper leaves the real
 * anvil running (it forwards only SIGINT and SIGTERM), which breaks crash tests and leaks ports.
 */
export function resolveAnvilBinary(): string {
  const arch = ARCH[process.arch];
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch (cause) {
    throw new CareLedgerError(
      'ERR_CONFIG',
      `anvil is not installed for this platform (${pkg}); run npm install`,
      {
        cause,
      },
    );
  }
  const binary = join(dirname(manifest), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  if (!existsSync(binary)) {
    throw new CareLedgerError('ERR_CONFIG', `the anvil binary is missing from ${pkg}; reinstall it`);
  }
  return binary;
}
