// The chat page's script: web/app.ts and what it imports (lfm.ts/browser: the engine, its worker script and wasm
// builds, tokenizer, chat template) bundled by esbuild into one ES module, web/dist/app.js (git-ignored, like the
// wasm module). `npm run build:web` makes it; `lfm web` rebuilds it on demand when a source is newer.
//
//   npx tsx build/build-web.ts [--force]

import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIR = join(ROOT, 'web');
export const WEB_BUNDLE = join(WEB_DIR, 'dist', 'app.js');
/** What the bundle is made from: the page's script, the package's sources and the generated engine modules. */
const SOURCES = [join(WEB_DIR, 'app.ts'), join(ROOT, 'src'), join(ROOT, 'reference'), join(ROOT, 'package-lock.json')];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path)) t = Math.max(t, newestMtime(join(path, e)));
  return t;
}

/** True when web/dist/app.js is missing or older than one of its sources. */
export function webBundleStale(): boolean {
  if (!existsSync(WEB_BUNDLE)) return true;
  const built = statSync(WEB_BUNDLE).mtimeMs;
  return SOURCES.some((s) => newestMtime(s) > built);
}

/** Bundles web/app.ts into web/dist/app.js; returns its size in bytes. */
export async function buildWeb(): Promise<number> {
  for (const f of ['wasm-binaries.generated.ts', 'worker/worker-source.generated.ts']) {
    if (!existsSync(join(ROOT, 'src', 'engine', f))) throw new Error(`src/engine/${f} is missing: run \`npm run build:wasm\` first`);
  }
  const esbuild = await import('esbuild');
  mkdirSync(dirname(WEB_BUNDLE), { recursive: true });
  const r = await esbuild.build({
    entryPoints: [join(WEB_DIR, 'app.ts')],
    outfile: WEB_BUNDLE,
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, sourcemap: true,
    legalComments: 'none', logLevel: 'silent', metafile: true,
  });
  const inputs = Object.keys(r.metafile.inputs);
  const nodeOnly = inputs.filter((f) => f.startsWith('node:') || f.includes('src/node/') || f.includes('src/cli/'));
  if (nodeOnly.length) throw new Error(`web bundle: it must not import Node-only modules (${nodeOnly.join(', ')})`);
  return statSync(WEB_BUNDLE).size;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!process.argv.includes('--force') && !webBundleStale()) console.log('build:web: up to date');
  else {
    const t0 = performance.now();
    const bytes = await buildWeb();
    console.log(`build:web: web/dist/app.js ${(bytes / 1024).toFixed(0)} KiB (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
