// vitest globalSetup: the engine's generated modules (wasm builds, worker script) are up to date before any test
// runs, also for `npx vitest run <file>` after an edit (npm test builds them too). Fast when nothing changed.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, ['--import', 'tsx', join(root, 'build', 'build-wasm.ts'), '--quiet'], { cwd: root, stdio: 'inherit' });
}
