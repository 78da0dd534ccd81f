#!/usr/bin/env node
// The `lfm` command of the built package: runs dist/src/cli/main.js (made by `npm run build`).
// In a checkout without a build, `npm run lfm -- <args>` runs the TypeScript source through tsx instead.

import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('lfm: run `npm run build` first (or use `npm run lfm -- <args>` in a checkout)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
