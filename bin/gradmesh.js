#!/usr/bin/env node
// The gradmesh command. The implementation is compiled TypeScript in cli/dist (package @gradmesh/cli).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../cli/dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('gradmesh: not built yet — run `npm ci && npm run build` in the repository root first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
