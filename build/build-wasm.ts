// Builds the WASM engine: assembly/index.ts compiled twice with AssemblyScript (baseline SIMD128, and SIMD128 +
// relaxed SIMD), checked, and embedded as base64 in a generated TS module so core code needs no fs / fetch.
//
//   npm run build:wasm        (also the first step of `npm test`)
//
// Checks on each build: it validates, it imports only env.memory, env.tap (+ env.wait, env.notify for threads), and it has no data segments (a
// worker pool will instantiate the module once per worker over one shared memory; a data segment would be
// re-applied over live memory, WASM.md §3.1). Output: build/out/lfm.{simd,relaxed}.wasm and
// src/engine/wasm-binaries.generated.ts, both git-ignored. Skips the compile when nothing under assembly/ changed.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC_DIR = join(ROOT, 'assembly');
const OUT_DIR = join(ROOT, 'build', 'out');
const GENERATED = join(ROOT, 'src', 'engine', 'wasm-binaries.generated.ts');
const WORKER_GENERATED = join(ROOT, 'src', 'engine', 'worker', 'worker-source.generated.ts');

const COMMON = ['assembly/index.ts', '--runtime', 'stub', '-O3', '--noAssert', '--use', 'abort=', '--importMemory', '--initialMemory', '1', '--enable', 'simd'];
// Threaded builds import a shared memory (the barrier's atomics and wait/notify need one); the others a plain
// memory, for runtimes that cannot share one (browser pages that are not cross-origin isolated).
const THREADS = ['--enable', 'threads', '--sharedMemory', '--maximumMemory', '65536'];
const BUILDS = [
  { name: 'simd', flags: [] as string[] },
  { name: 'relaxed', flags: ['--enable', 'relaxed-simd'] },
  { name: 'simd-mt', flags: THREADS },
  { name: 'relaxed-mt', flags: ['--enable', 'relaxed-simd', ...THREADS] },
];

/** Hash of the sources and this script: the generated module records it, so unchanged sources skip the compile. */
function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(SRC_DIR).filter((f) => f.endsWith('.ts')).sort()) h.update(f).update(readFileSync(join(SRC_DIR, f)));
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  h.update(JSON.stringify(COMMON));
  return h.digest('hex').slice(0, 16);
}

/** Section ids present in a wasm binary, and the import names. Just enough parsing for the checks. */
function sections(bytes: Uint8Array): { ids: number[]; dataSegments: number } {
  let p = 8;
  const ids: number[] = [];
  let dataSegments = 0;
  const leb = () => {
    let r = 0, s = 0, b: number;
    do { b = bytes[p++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80);
    return r >>> 0;
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const start = p;
    ids.push(id);
    if (id === 11 || id === 12) {
      const n = leb();
      if (id === 11) dataSegments = n;
    }
    p = start + size;
  }
  return { ids, dataSegments };
}

async function compile(name: string, flags: string[]): Promise<Uint8Array> {
  const outFile = join('build', 'out', `lfm.${name}.wasm`);
  const stderr: string[] = [];
  const asc = (await import('assemblyscript/asc')).default; // heavy (binaryen): only when compiling
  const { error } = await asc.main([...COMMON, ...flags, '-o', outFile], {
    stdout: { write: () => true },
    stderr: { write: (s: string | Uint8Array) => (stderr.push(String(s)), true) },
  } as never);
  if (error) throw new Error(`asc (${name}) failed: ${error.message}\n${stderr.join('')}`);
  const bytes = new Uint8Array(readFileSync(join(ROOT, outFile)));
  if (!WebAssembly.validate(bytes) && !name.startsWith('relaxed')) throw new Error(`${outFile} does not validate`);
  const s = sections(bytes);
  if (s.dataSegments > 0 || s.ids.includes(11)) throw new Error(`${outFile} has a data section (${s.dataSegments} segments): the module must have none (WASM.md §3.1)`);
  // The relaxed build may not validate in this runtime (Node 20 without a flag); it has the same imports.
  if (!name.startsWith('relaxed')) {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => `${i.module}.${i.name}`);
    const allowed = ['env.memory', 'env.tap', 'env.wait', 'env.notify'];
    if (imports.some((i) => !allowed.includes(i))) throw new Error(`${outFile} imports ${imports.join(', ')}; only ${allowed.join(', ')} are allowed`);
  }
  return bytes;
}

/**
 * The engine worker's script: src/engine/worker/worker-main.ts and what it imports, bundled by esbuild into one
 * classic script (an IIFE defining `lfmWorker`) and embedded as a string, so that a worker can be started from
 * it in any runtime and from any bundle. The wasm binaries are stubbed out: workers get the bytes from the host.
 * Rebuilt every time (about 0.1 s); the file is rewritten only when its content changes.
 */
async function bundleWorker(): Promise<void> {
  const esbuild = await import('esbuild');
  const stub: import('esbuild').Plugin = {
    name: 'stub-binaries',
    setup(b) {
      b.onResolve({ filter: /wasm-binaries\.generated\.js$/ }, () => ({ path: 'wasm-binaries', namespace: 'stub' }));
      b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
        contents: ['SIMD', 'RELAXED', 'SIMD_MT', 'RELAXED_MT'].map((n) => `export const WASM_${n}_BASE64 = '';`).join('\n'),
        loader: 'js',
      }));
    },
  };
  const r = await esbuild.build({
    entryPoints: [join(ROOT, 'src', 'engine', 'worker', 'worker-main.ts')],
    bundle: true, format: 'iife', globalName: 'lfmWorker', platform: 'neutral', target: 'es2022', write: false,
    minifySyntax: true, legalComments: 'none', plugins: [stub], logLevel: 'silent',
  });
  const code = r.outputFiles[0].text;
  if (/\bimport\s*\(|require\(/.test(code)) throw new Error('worker bundle: it must be self-contained (found an import() or require())');
  const out =
    `// GENERATED by build/build-wasm.ts from src/engine/worker/worker-main.ts — do not edit, not committed.\n` +
    `/** The engine worker's script (${code.length} characters): a classic script defining \`lfmWorker\`. */\n` +
    `export const WORKER_SOURCE = ${JSON.stringify(code)};\n`;
  if (!existsSync(WORKER_GENERATED) || readFileSync(WORKER_GENERATED, 'utf8') !== out) writeFileSync(WORKER_GENERATED, out);
}

async function main(): Promise<void> {
  await bundleWorker();
  const hash = sourceHash();
  if (existsSync(GENERATED) && readFileSync(GENERATED, 'utf8').includes(`SOURCE_HASH = '${hash}'`) && !process.argv.includes('--force')) {
    if (!process.argv.includes('--quiet')) console.log(`build:wasm: up to date (${hash})`);
    return;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const t0 = performance.now();
  const out: Record<string, Uint8Array> = {};
  for (const b of BUILDS) out[b.name] = await compile(b.name, b.flags);
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  writeFileSync(
    GENERATED,
    `// GENERATED by build/build-wasm.ts from assembly/ — do not edit, not committed. Rebuild: npm run build:wasm\n` +
      `export const SOURCE_HASH = '${hash}';\n` +
      BUILDS.map((b) => `/** ${b.name} build (${out[b.name].length} bytes). */\nexport const WASM_${b.name.toUpperCase().replace('-', '_')}_BASE64 = '${b64(out[b.name])}';\n`).join(''),
  );
  console.log(`build:wasm: ${BUILDS.map((b) => `${b.name} ${out[b.name].length} B`).join(', ')}, no data segments (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

await main();
