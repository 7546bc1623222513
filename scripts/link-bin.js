#!/usr/bin/env node
// Links node_modules/.bin/careledger to bin/careledger.js (run by `npm install`, through `prepare`), so
// `npx careledger` in this folder runs the built command at once.
//
// package.json declares no "bin" on purpose: npm 7+ `npx <name>`, run inside a project whose own
// package.json has a bin of that name, installs the project into npx's cache, which runs `prepare` (a
// full tsc and esbuild build, 56 s measured, rewriting dist/ under a running demo) before the first
// command. With no "bin", npx finds node_modules/.bin/careledger and runs it directly (libnpmexec:
// local package bins are looked up before node_modules/.bin).
import { chmodSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'careledger');
const target = join('..', '..', 'bin', 'careledger.js');

mkdirSync(binDir, { recursive: true });
let current;
try {
  current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link';
} catch {
  current = undefined;
}
if (current !== target) {
  if (current !== undefined) rmSync(link, { force: true });
  symlinkSync(target, link);
}
chmodSync(join(root, 'bin', 'careledger.js'), 0o755);
