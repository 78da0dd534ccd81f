// Bundles the runtime smoke test (tests/runtimes/smoke-entry.ts) into one ESM file for a neutral platform, and
// fails if the runtime-agnostic core pulls in a Node built-in, naming every import chain that leads to one.
//
//   npx tsx build/bundle-smoke.ts           -> build/out/runtimes/smoke.js (git-ignored)
//   (tests/runtimes/runtimes.rt.ts calls bundleSmoke() itself)
//
// Node built-ins are marked external rather than left to fail resolution, so the metafile records who imports
// them and the error can print entry -> ... -> 'node:fs' instead of esbuild's single "could not resolve". Any
// other import the bundle leaves unresolved is an error too: the output must be one self-contained file that
// Node, Deno, Bun, a browser and workerd can all load. Free uses of Node globals (process, Buffer) are not
// checked here; the Chromium and workerd runs fail on them.

import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SMOKE_ENTRY = join(ROOT, 'tests', 'runtimes', 'smoke-entry.ts');
export const SMOKE_OUT_DIR = join(ROOT, 'build', 'out', 'runtimes');
export const SMOKE_BUNDLE = join(SMOKE_OUT_DIR, 'smoke.js');
/** The Node variant (tests/runtimes/smoke-node.ts): the same payload with worker_threads for the engine's workers. */
export const SMOKE_NODE_ENTRY = join(ROOT, 'tests', 'runtimes', 'smoke-node.ts');
export const SMOKE_NODE_BUNDLE = join(SMOKE_OUT_DIR, 'smoke-node.js');

/** Every spelling of a Node built-in: 'fs', 'node:fs', 'fs/promises', 'node:test' (prefix-only modules). */
const NODE_BUILTINS = [...new Set(builtinModules.flatMap((m) => (m.startsWith('node:') ? [m] : [m, `node:${m}`])))].concat('node:*');

export class PortabilityError extends Error {
  override name = 'PortabilityError';
}

export interface BundleResult {
  outfile: string;
  bytes: number;
  ms: number;
  /** Source files in the bundle, relative to the repository root. */
  inputs: string[];
}

/** The import chains (entry first, the external module last) that reach each external import. */
export function externalChains(meta: Metafile, entry: string): string[][] {
  const parent = new Map<string, string>([[entry, '']]);
  const queue = [entry];
  const chains: string[][] = [];
  const path = (file: string): string[] => {
    const out: string[] = [];
    for (let f = file; f; f = parent.get(f) ?? '') out.unshift(f);
    return out;
  };
  while (queue.length) {
    const file = queue.shift()!;
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.external) chains.push([...path(file), `${imp.path} (${imp.kind})`]);
      else if (!parent.has(imp.path)) {
        parent.set(imp.path, file);
        queue.push(imp.path);
      }
    }
  }
  return chains;
}

/** Builds the bundle; throws PortabilityError (with the import chains) if it needs anything outside itself. */
export async function bundleSmoke(options: { entry?: string; outfile?: string } = {}): Promise<BundleResult> {
  const entry = options.entry ?? SMOKE_ENTRY;
  const outfile = options.outfile ?? SMOKE_BUNDLE;
  const t0 = performance.now();
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: NODE_BUILTINS,
    metafile: true,
    logLevel: 'silent',
  });
  const ms = performance.now() - t0;
  const key = (file: string) => relative(ROOT, file).split('\\').join('/'); // metafile paths: relative to ROOT, '/'
  const chains = externalChains(metafile, key(entry));
  if (chains.length) {
    const lines = chains.map((c) => '  ' + c.join('\n    -> '));
    throw new PortabilityError(`the runtime-agnostic bundle imports ${chains.length} module(s) from outside itself:\n${lines.join('\n')}`);
  }
  if (entry === SMOKE_ENTRY) {
    await build({
      absWorkingDir: ROOT, entryPoints: [SMOKE_NODE_ENTRY], outfile: SMOKE_NODE_BUNDLE, bundle: true, format: 'esm', platform: 'node',
      target: 'es2022', logLevel: 'silent',
      // (a CommonJS shim for esbuild's require of node built-ins in an ESM bundle)
      banner: { js: "import { createRequire as __lfmCreateRequire } from 'node:module'; const require = __lfmCreateRequire(import.meta.url);" },
    });
  }
  return { outfile, bytes: metafile.outputs[key(outfile)]?.bytes ?? 0, ms, inputs: Object.keys(metafile.inputs) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const r = await bundleSmoke();
    console.log(`${relative(ROOT, r.outfile)}: ${(r.bytes / 1024).toFixed(1)} KiB from ${r.inputs.length} files in ${r.ms.toFixed(0)} ms`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
