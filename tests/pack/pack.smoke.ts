// `npm run test:pack`: the package as a user gets it. `npm pack` on this checkout (its prepack script builds the
// WASM module and dist/), then the tarball installed into an empty project with no network at all (the
// dependencies are packed from this checkout's node_modules, npm runs with --offline and an empty cache), then:
// the `lfm` binary (synth, run, demo, --version), `import('lfm.ts')` with the WASM engine inside, the subpath
// exports, and the README's TypeScript snippets type-checked against the installed types.
//
// Kept out of `npm test` (it rebuilds dist/ and takes ~30 s); CI runs it on its fresh clone (.ci/run).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedBlocks, README, ROOT, typecheckSnippets, userCompilerOptions } from '../readme-snippets.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  exports: Record<string, Record<string, string>>;
  bin: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'lfm-pack-test-'));
const app = join(work, 'app');
const installed = join(app, 'node_modules', pkg.name);
let files: string[] = [];
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs npm (the one running this test, else the one on PATH) and returns its stdout; throws with its output. */
function npm(args: string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  const [cmd, pre] = cli && cli.endsWith('.js') ? [process.execPath, [cli]] : ['npm', []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The JSON array `npm ... --json` prints last (lifecycle scripts may print before it). */
function lastJson<T>(out: string): T {
  const at = out.search(/^\[/m);
  if (at < 0) throw new Error(`no JSON array in npm's output:\n${out}`);
  return JSON.parse(out.slice(at)) as T;
}

/** Runs the installed `lfm` binary through node; returns exit code and output. */
function lfm(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'lfm'), ...args], { cwd: app, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  // The package, built by its own prepack script: from no dist/ at all, so a package that ships only what an
  // earlier build left behind cannot pass.
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  const [packed] = lastJson<{ filename: string; files: { path: string }[] }[]>(npm(['pack', '--json', '--pack-destination', work], ROOT));
  files = packed.files.map((f) => f.path);
  // Its dependencies, packed from node_modules (the versions of the lock file), so the install needs no network.
  const deps = lastJson<{ filename: string }[]>(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work, ...Object.keys(pkg.dependencies).map((d) => join(ROOT, 'node_modules', d))], ROOT));
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'lfm-pack-smoke', private: true, type: 'module' }));
  npm(['install', '--offline', '--cache', join(work, 'empty-cache'), '--no-audit', '--no-fund', join(work, packed.filename), ...deps.map((d) => join(work, d.filename))], app);
}, 300_000);

describe('the packed tarball', () => {
  it('holds the built package: the WASM module compiled in, types, the bin, the license; no sources, tests or maps', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/lfm.js', 'dist/src/engine/wasm-binaries.generated.js', 'dist/src/index.js', 'dist/src/index.d.ts']) {
      expect(files, f).toContain(f);
    }
    for (const [subpath, conditions] of Object.entries(pkg.exports)) {
      for (const [condition, target] of Object.entries(conditions)) expect(files, `exports['${subpath}'].${condition}`).toContain(target.replace(/^\.\//, ''));
    }
    expect(files.filter((f) => f.endsWith('.map')), 'source maps (they would point at sources not shipped)').toEqual([]);
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), 'TypeScript sources').toEqual([]);
    expect(files.filter((f) => /^(tests|assembly|build|golden|bench|src|reference)\//.test(f)), 'checkout-only folders').toEqual([]);
    expect(readFileSync(join(installed, 'dist/src/engine/wasm-binaries.generated.js'), 'utf8')).toMatch(/WASM_SIMD_BASE64 = '[A-Za-z0-9+/]{1000,}/);
  });
});

describe('installed into an empty project, offline', () => {
  it('lfm --version, synth, run (the README main command on a tiny model) and demo work', () => {
    expect(lfm('--version').out.trim()).toBe(pkg.version);
    const synth = lfm('synth', '--shape', 'd96-gqa3', '--type', 'Q4_0', '--out', 'tiny.gguf');
    expect(synth.code, synth.err).toBe(0);
    const run = lfm('run', 'What is the capital of France?', '--model', 'tiny.gguf', '--max-tokens', '16', '--seed', '1');
    expect(run.code, run.err).toBe(0);
    expect(run.err).toMatch(/\(wasm (baseline|relaxed), \d+ threads? \(worker_threads/);
    expect(run.err).toMatch(/\d+ tokens \(\d+ reasoning\)/);
    const demo = lfm('demo');
    expect(demo.code, demo.err).toBe(0);
    expect(demo.out).toContain('</think>');
  });

  it("import('lfm.ts') chats on the WASM engine; lfm.ts/node and lfm.ts/reference load", () => {
    writeFileSync(
      join(app, 'smoke.mjs'),
      `import { loadLfm } from 'lfm.ts';
       import { fileSource } from 'lfm.ts/node';
       import { loadModel, forward, newState } from 'lfm.ts/reference';
       const lfm = await loadLfm({ gguf: await fileSource('tiny.gguf') }, { engine: 'wasm' });
       const r = await lfm.chat([{ role: 'user', content: 'hi' }], { max_tokens: 8, seed: 1 }).result();
       await lfm.dispose();
       const m = await loadModel({ gguf: await fileSource('tiny.gguf') });
       const logits = forward(m.weights, m.dims, newState(m.dims), [1, 6]);
       console.log(JSON.stringify({ kind: lfm.engine.kind, description: lfm.engine.description, tokens: r.tokens.length, finish: r.finish_reason, V: logits.length }));`,
    );
    if (!existsSync(join(app, 'tiny.gguf'))) lfm('synth', '--shape', 'd96-gqa3', '--type', 'Q4_0', '--out', 'tiny.gguf');
    const out = JSON.parse(execFileSync(process.execPath, ['smoke.mjs'], { cwd: app, encoding: 'utf8' }).trim()) as { kind: string; description: string; tokens: number; V: number };
    expect(out.kind).toBe('wasm');
    // straight from the package, the "node" export condition puts the engine in worker_threads, off the caller's thread
    expect(out.description).toMatch(/worker_threads/);
    expect(out.tokens).toBeGreaterThan(0);
    expect(out.V).toBe(320);
  });

  it("the README's TypeScript snippets type-check against the installed package's types", () => {
    // No `paths`: 'lfm.ts' resolves through node_modules and the package's exports, as in a user's project.
    const problems = typecheckSnippets(join(app, 'src'), fencedBlocks(README, 'ts'), userCompilerOptions({ baseUrl: undefined, paths: undefined }));
    expect(problems).toEqual([]);
  });
});
