// The independent implementation the golden files come from: llama.cpp's prebuilt binaries (via the node-llama-cpp
// npm package) and the koffi FFI to call into them, installed on demand into golden/.deps/ (git-ignored).
//
// Why a private folder: node-llama-cpp with all its optional GPU builds is ~730 MB, and `npm test` must never need
// it. The goldens it produces are committed; only regenerating them (`npm run golden`) installs these packages.
//
// What gets installed (exact versions, written into golden/.deps/package.json by this file):
//   node-llama-cpp            the JS API (getLlama, LlamaModel, ...) the lead's logits goldens drive
//   @node-llama-cpp/<plat>    its prebuilt CPU binaries: libllama, libggml-base (ggml's quantizers live here), ...
//   koffi + @koromix/koffi-<plat>  FFI to call libggml-base's C functions directly
// npm flags: --omit=optional keeps the ~650 MB of CUDA/Vulkan/other-arch builds out (the CPU package for this
// platform is listed as a direct dependency instead); --ignore-scripts because neither install script is needed:
// koffi's only copies the prebuild that @koromix/koffi-<plat> already holds, and node-llama-cpp's postinstall only
// checks for (or builds) a binary that the prebuilt package already provides. npm 11 would skip them anyway
// ("install scripts not yet covered by allowScripts"); the flag makes that explicit and silent.
// On linux-x64: ~15 s and ~90 MB.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';
export const KOFFI_VERSION = '3.3.4';

/** golden/.deps, next to this file. */
export const GOLDEN_DEPS_DIR = join(dirname(fileURLToPath(import.meta.url)), '.deps');

export interface GoldenDeps {
  /** The install folder (golden/.deps). */
  root: string;
  /** `import()` of a package (or package subpath) installed in root, e.g. 'node-llama-cpp', 'koffi'. */
  importPkg(name: string): Promise<any>;
  /** Absolute path of llama.cpp's libggml-base shared library (exports quantize_row_*_ref, dequantize_row_*). */
  ggmlBaseLib: string;
  /** The prebuilt binary package used, e.g. '@node-llama-cpp/linux-x64'. */
  binaryPackage: string;
  /** The llama.cpp release those binaries were built from (from node-llama-cpp's llama.cpp.info.json). */
  llamaCppRelease: string;
}

/** node-llama-cpp's prebuilt CPU package, koffi's prebuild package and ggml-base's file name for this platform. */
function platformPackages(): { llama: string; koffi: string; libFile: string; binDir: string } {
  const p = process.platform;
  const a = process.arch;
  if (p === 'linux' && (a === 'x64' || a === 'arm64')) {
    return { llama: `@node-llama-cpp/linux-${a}`, koffi: `@koromix/koffi-linux-${a}`, libFile: 'libggml-base.so', binDir: `linux-${a}` };
  }
  if (p === 'darwin' && a === 'arm64') {
    return { llama: '@node-llama-cpp/mac-arm64-metal', koffi: '@koromix/koffi-darwin-arm64', libFile: 'libggml-base.dylib', binDir: 'mac-arm64-metal' };
  }
  if (p === 'darwin' && a === 'x64') {
    return { llama: '@node-llama-cpp/mac-x64', koffi: '@koromix/koffi-darwin-x64', libFile: 'libggml-base.dylib', binDir: 'mac-x64' };
  }
  if (p === 'win32' && a === 'x64') {
    return { llama: '@node-llama-cpp/win-x64', koffi: '@koromix/koffi-win32-x64', libFile: 'ggml-base.dll', binDir: 'win-x64' };
  }
  throw new Error(`goldenDeps: no prebuilt llama.cpp package known for ${p}-${a} (only linux-x64 has been verified)`);
}

function installedVersion(root: string, pkg: string): string | null {
  const file = join(root, 'node_modules', pkg, 'package.json');
  if (!existsSync(file)) return null;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
}

/**
 * Installs the pinned packages into golden/.deps (only when missing or at another version) and returns how to
 * reach them. Logs one line to stderr when it installs.
 */
export async function goldenDeps(): Promise<GoldenDeps> {
  const root = GOLDEN_DEPS_DIR;
  const plat = platformPackages();
  const pins: Record<string, string> = {
    'node-llama-cpp': NODE_LLAMA_CPP_VERSION,
    [plat.llama]: NODE_LLAMA_CPP_VERSION,
    koffi: KOFFI_VERSION,
    [plat.koffi]: KOFFI_VERSION,
  };
  const stale = Object.entries(pins).filter(([pkg, v]) => installedVersion(root, pkg) !== v);
  if (stale.length > 0) {
    mkdirSync(root, { recursive: true });
    const manifest = {
      name: 'lfm-golden-deps',
      private: true,
      description: 'Written by golden/deps.ts: the reference implementation the golden files are made from. Not part of lfm.ts.',
      dependencies: pins,
    };
    writeFileSync(join(root, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    const t0 = Date.now();
    process.stderr.write(`goldenDeps: installing ${stale.map(([p, v]) => `${p}@${v}`).join(', ')} into ${root} ...\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['install', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
    process.stderr.write(`goldenDeps: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const [pkg, v] of Object.entries(pins)) {
      const got = installedVersion(root, pkg);
      if (got !== v) throw new Error(`goldenDeps: after npm install, ${pkg} is ${got ?? 'missing'}, expected ${v}`);
    }
  }

  const ggmlBaseLib = join(root, 'node_modules', plat.llama, 'bins', plat.binDir, plat.libFile);
  if (!existsSync(ggmlBaseLib)) {
    throw new Error(`goldenDeps: ${ggmlBaseLib} not found; the layout of ${plat.llama}@${NODE_LLAMA_CPP_VERSION} changed?`);
  }
  const info = join(root, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json');
  const llamaCppRelease = existsSync(info) ? String((JSON.parse(readFileSync(info, 'utf8')) as { tag?: string }).tag) : 'unknown';

  const require = createRequire(join(root, 'package.json'));
  return {
    root,
    ggmlBaseLib,
    binaryPackage: plat.llama,
    llamaCppRelease,
    importPkg: (name: string) => import(pathToFileURL(require.resolve(name)).href),
  };
}
