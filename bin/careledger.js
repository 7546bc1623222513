#!/usr/bin/env node
// The package's command. Runs the compiled CLI (built by `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('careledger: dist/ is missing; run `npm install` (or `npm run build`) first.\n');
  process.exit(70);
}
await import(entry.href);
