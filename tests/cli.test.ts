// The `lfm` CLI, run in-process through main(): the logits file is exactly the oracle's output, synth writes the
// model maker's bytes, and every mistake on the command line or in the files gets its exit code and a one-line
// message. One test spawns the entry point to prove the shell path (process.exitCode) works too.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GOLDEN_SHAPES } from '../golden/cases.js';
import { bytesSource } from '../reference/bytes.js';
import { concatParts } from '../reference/gguf.js';
import { loadModel } from '../reference/load.js';
import { forward, newState } from '../reference/model.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, main, parseTokenIds } from '../src/cli/main.js';
import { directoryFileSet, fileSource } from '../src/node/files.js';
import { synthGguf, synthHfFolder, synthModel } from '../src/synth/random-model.js';
import { expectBitwiseEqual } from './compare.js';

const ROOT = join(import.meta.dirname, '..');
const spec = GOLDEN_SHAPES[0]; // tiny-gqa4: V = 300, conv and attention layers
const synth = synthModel(spec);
const V = spec.vocab_size;
const TOKENS = [1, 0, 17, V - 1, 42, 42, 7, 150, 3, 299, 88, 14]; // T = 12, both ends of the vocabulary

const dir = mkdtempSync(join(tmpdir(), 'lfm-cli-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ggufF32 = join(dir, 'tiny.f32.gguf');
const ggufQ8 = join(dir, 'tiny.q8_0.gguf');
const hfF32 = join(dir, 'tiny-hf');
const ggufF32Bytes = concatParts(synthGguf(synth, 'F32'));
writeFileSync(ggufF32, ggufF32Bytes);
writeFileSync(ggufQ8, concatParts(synthGguf(synth, 'Q8_0')));
mkdirSync(hfF32);
for (const [name, data] of Object.entries(synthHfFolder(synth, 'F32'))) writeFileSync(join(hfF32, name), data);

/** Runs main() with captured stdout / stderr. */
async function lfm(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** A little-endian float32 file as a Float32Array (a copy, so the buffer is 4-aligned). */
function readF32(path: string): Float32Array {
  return new Float32Array(new Uint8Array(readFileSync(path)).buffer);
}

/** The names in `dir` other than the fixtures: output files and any leftover temp file. */
function leftovers(): string[] {
  return readdirSync(dir).filter((n) => ![ggufF32, ggufQ8, hfF32].some((p) => p.endsWith(`/${n}`)) && !n.startsWith('keep-'));
}

describe('lfm logits', () => {
  it('writes the oracle logits (T, V) bitwise, for GGUF F32 and Q8_0', async () => {
    for (const [path, type] of [[ggufF32, 'F32'], [ggufQ8, 'Q8_0']] as const) {
      const out = join(dir, `logits-${type}.f32`);
      const r = await lfm('logits', '--model', path, '--tokens', TOKENS.join(','), '--out', out);
      expect(r.err).toContain(`T=${TOKENS.length} V=${V}`);
      expect(r.err).toContain(`gguf ${type}`);
      expect(r.code, r.err).toBe(EXIT_OK);
      expect(r.err.trim().split('\n')).toHaveLength(1);

      const got = readF32(out); // (T, V)
      expect(got.length).toBe(TOKENS.length * V);
      const model = await loadModel({ gguf: await fileSource(path) });
      const want = forward(model.weights, model.dims, newState(model.dims), TOKENS, { allLogits: true });
      expectBitwiseEqual(`lfm logits ${type}`, got, want);
      // Row i is the next-token logits after tokens[0..i]: the last row equals a last-only forward.
      const last = forward(model.weights, model.dims, newState(model.dims), TOKENS);
      expectBitwiseEqual(`lfm logits ${type} last row`, got.subarray((TOKENS.length - 1) * V), last);
      rmSync(out);
    }
    expect(leftovers()).toEqual([]);
  });

  it('gives the same bits for an HF F32 folder as for the F32 GGUF', async () => {
    const a = join(dir, 'a.f32');
    const b = join(dir, 'b.f32');
    expect((await lfm('logits', '--model', ggufF32, '--tokens', TOKENS.join(','), '--out', a)).code).toBe(EXIT_OK);
    const r = await lfm('logits', '--model', hfF32, '--tokens', TOKENS.join(','), '--out', b, '--engine', 'reference');
    expect(r.code, r.err).toBe(EXIT_OK);
    expect(r.err).toContain('(hf)');
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    rmSync(a);
    rmSync(b);
  });

  it('writes a single token as one row, and replaces an existing output file', async () => {
    const out = join(dir, 'one.f32');
    writeFileSync(out, 'old content');
    expect((await lfm('logits', '--model', ggufF32, '--tokens', ' 5 ', '--out', out)).code).toBe(EXIT_OK);
    expect(readFileSync(out).length).toBe(V * 4);
    rmSync(out);
  });

  const truncated = join(dir, 'keep-truncated.gguf');
  writeFileSync(truncated, ggufF32Bytes.subarray(0, ggufF32Bytes.length - 1000));
  const notGguf = join(dir, 'keep-not.gguf');
  writeFileSync(notGguf, '{"model_type": "lfm2"}');
  const emptyFolder = join(dir, 'keep-empty-folder');
  mkdirSync(emptyFolder);
  const aFile = join(dir, 'keep-a-file');
  writeFileSync(aFile, 'x');

  const out = join(dir, 'err.f32');
  const ok = ['--model', ggufF32, '--out', out];
  const cases: [what: string, argv: string[], code: number, message: string][] = [
    ['no command', ['frob'], EXIT_USAGE, "unknown command 'frob'"],
    ['unknown top-level flag', ['--frob'], EXIT_USAGE, "unknown option '--frob'"],
    ['unknown flag', ['logits', ...ok, '--tokens', '1', '--frob', '2'], EXIT_USAGE, "unknown option '--frob'"],
    ['stray argument', ['logits', ...ok, '--tokens', '1', 'extra'], EXIT_USAGE, "unexpected argument 'extra'"],
    ['missing --model', ['logits', '--tokens', '1', '--out', out], EXIT_USAGE, "missing required option '--model'"],
    ['missing --tokens', ['logits', ...ok], EXIT_USAGE, "missing required option '--tokens'"],
    ['missing --out', ['logits', '--model', ggufF32, '--tokens', '1'], EXIT_USAGE, "missing required option '--out'"],
    ['flag without value', ['logits', '--model', '--tokens', '1', '--out', out], EXIT_USAGE, "option '--model' needs a value"],
    ['flag at the end without value', ['logits', ...ok, '--tokens'], EXIT_USAGE, "option '--tokens' needs a value"],
    ['flag given twice', ['logits', ...ok, '--tokens', '1', '--tokens', '2'], EXIT_USAGE, "'--tokens' given twice"],
    ['empty --tokens', ['logits', ...ok, '--tokens', ''], EXIT_USAGE, 'no token ids'],
    ['empty item', ['logits', ...ok, '--tokens', '1,,2'], EXIT_USAGE, 'item 2 is empty'],
    ['trailing comma', ['logits', ...ok, '--tokens', '1,2,'], EXIT_USAGE, 'item 3 is empty'],
    ['word', ['logits', ...ok, '--tokens', 'a'], EXIT_USAGE, "'a' (item 1) is not a token id"],
    ['negative', ['logits', ...ok, '--tokens', '3,-1'], EXIT_USAGE, 'token id -1 is negative'],
    ['negative as its own word', ['logits', ...ok, '--tokens', '-1'], EXIT_USAGE, 'token id -1 is negative'],
    ['decimal', ['logits', ...ok, '--tokens', '1.5'], EXIT_USAGE, "'1.5' (item 1) is not a token id"],
    ['exponent', ['logits', ...ok, '--tokens', '1e3'], EXIT_USAGE, "'1e3' (item 1) is not a token id"],
    ['huge', ['logits', ...ok, '--tokens', '99999999999999999999'], EXIT_USAGE, 'is too large'],
    ['engine wasm, token id = V', ['logits', ...ok, '--tokens', `1,${V}`, '--engine', 'wasm'], EXIT_RUNTIME, `token id ${V} (item 2 of --tokens) is not in the model's vocabulary: V = ${V}`],
    ['engine other', ['logits', ...ok, '--tokens', '1', '--engine', 'cuda'], EXIT_USAGE, "unknown engine 'cuda'"],
    ['token id = V', ['logits', ...ok, '--tokens', `1,${V}`], EXIT_RUNTIME, `token id ${V} (item 2 of --tokens) is not in the model's vocabulary: V = ${V}`],
    ['model missing', ['logits', '--model', join(dir, 'nope.gguf'), '--out', out, '--tokens', '1'], EXIT_RUNTIME, 'nope.gguf\': does not exist'],
    ['not a GGUF', ['logits', '--model', notGguf, '--out', out, '--tokens', '1'], EXIT_RUNTIME, "bad magic '{\"mo'"],
    ['truncated GGUF', ['logits', '--model', truncated, '--out', out, '--tokens', '1'], EXIT_RUNTIME, 'truncated'],
    ['folder without config.json', ['logits', '--model', emptyFolder, '--out', out, '--tokens', '1'], EXIT_RUNTIME, 'config.json'],
    ['output folder missing', ['logits', '--model', ggufF32, '--out', join(dir, 'no-such-dir', 'l.f32'), '--tokens', '1'], EXIT_RUNTIME, 'no-such-dir\' does not exist'],
    ['output under a file', ['logits', '--model', ggufF32, '--out', join(aFile, 'l.f32'), '--tokens', '1'], EXIT_RUNTIME, 'is not a folder'],
    ['output is a folder', ['logits', '--model', ggufF32, '--out', emptyFolder, '--tokens', '1'], EXIT_RUNTIME, 'it is a directory'],
    ['synth unknown shape', ['synth', '--shape', 'huge', '--type', 'F32', '--out', out], EXIT_USAGE, "unknown shape 'huge'"],
    ['synth bad type', ['synth', '--shape', spec.name, '--type', 'Q5_K', '--out', out], EXIT_USAGE, '--type Q5_K is not available for GGUF'],
    ['synth quant type with --hf', ['synth', '--shape', spec.name, '--type', 'Q8_0', '--hf', '--out', out], EXIT_USAGE, 'not available with --hf'],
    ['synth bad seed', ['synth', '--shape', spec.name, '--type', 'F32', '--seed', '-3', '--out', out], EXIT_USAGE, "--seed '-3' must be an integer"],
    ['synth --hf with a value', ['synth', '--shape', spec.name, '--type', 'F32', '--hf=yes', '--out', out], EXIT_USAGE, "'--hf' takes no value"],
    ['demo with a flag', ['demo', '--fast'], EXIT_USAGE, "unknown option '--fast'"],
  ];
  for (const [what, argv, code, message] of cases) {
    it(`fails cleanly: ${what}`, async () => {
      const r = await lfm(...argv);
      expect(r.err).toContain(message);
      expect(r.err.startsWith('error: ')).toBe(true);
      expect(r.err.trim().split('\n'), 'one line, no stack trace').toHaveLength(1);
      expect(r.code).toBe(code);
      expect(r.out).toBe('');
      expect(leftovers(), 'no output or temp file is left behind').toEqual([]);
    });
  }

  it('leaves an existing output untouched when it fails', async () => {
    const keep = join(dir, 'keep-existing.f32');
    writeFileSync(keep, 'previous logits');
    const r = await lfm('logits', '--model', ggufF32, '--tokens', `1,2,${V + 5}`, '--out', keep);
    expect(r.code).toBe(EXIT_RUNTIME);
    expect(readFileSync(keep, 'utf8')).toBe('previous logits');
    expect(leftovers()).toEqual([]);
  });

  it('parses token lists', () => {
    expect(parseTokenIds('1,422,8')).toEqual([1, 422, 8]);
    expect(parseTokenIds(' 0 , 7,65535 ')).toEqual([0, 7, 65535]);
    for (const bad of ['', ' ', ',', '1,', ',1', '1;2', '1 2', '+1', '0x10', '1.0', 'NaN', '--1']) expect(() => parseTokenIds(bad), bad).toThrow();
  });
});

describe('lfm synth', () => {
  it('writes the model maker bytes for a GGUF (streamed part by part) and they load', async () => {
    for (const type of ['F32', 'Q4_0'] as const) {
      const out = join(dir, `synth.${type}.gguf`);
      const r = await lfm('synth', '--shape', spec.name, '--type', type, '--out', out);
      expect(r.code, r.err).toBe(EXIT_OK);
      const want = concatParts(synthGguf(synth, type));
      expect(r.err).toContain(`${want.length} bytes`);
      const got = readFileSync(out);
      expect(Buffer.compare(got, want), `${type} bytes`).toBe(0);
      const model = await loadModel({ gguf: await fileSource(out) });
      expect(model.dims.V).toBe(V);
      rmSync(out);
    }
  });

  it('takes --seed and a lower-case type', async () => {
    const out = join(dir, 'seeded.gguf');
    expect((await lfm('synth', '--shape', spec.name, '--type', 'q8_0', '--seed', '7', '--out', out)).code).toBe(EXIT_OK);
    const want = concatParts(synthGguf(synthModel({ ...spec, seed: 7 }), 'Q8_0'));
    expect(Buffer.compare(readFileSync(out), want)).toBe(0);
    expect(Buffer.compare(want, concatParts(synthGguf(synth, 'Q8_0')))).not.toBe(0);
    rmSync(out);
  });

  it('writes an HF folder that loads and gives the GGUF logits', async () => {
    const out = join(dir, 'synth-hf');
    const r = await lfm('synth', '--shape', spec.name, '--type', 'F32', '--hf', '--out', out);
    expect(r.code, r.err).toBe(EXIT_OK);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const hf = await loadModel({ hf: directoryFileSet(out) });
    const gg = await loadModel({ gguf: bytesSource(ggufF32Bytes, 'tiny.gguf') });
    expect(hf.dims).toEqual(gg.dims);
    expectBitwiseEqual(
      'synth --hf vs GGUF',
      forward(hf.weights, hf.dims, newState(hf.dims), TOKENS, { allLogits: true }),
      forward(gg.weights, gg.dims, newState(gg.dims), TOKENS, { allLogits: true }),
    );
    rmSync(out, { recursive: true });
  });
});

describe('lfm help, version (demo: cli-demo.test.ts)', () => {
  it('prints usage and the version', async () => {
    for (const argv of [[], ['--help'], ['-h']]) {
      const r = await lfm(...argv);
      expect(r.code).toBe(EXIT_OK);
      expect(r.out).toContain('usage: lfm <command>');
    }
    for (const cmd of ['logits', 'synth', 'demo']) {
      const r = await lfm(cmd, '--help');
      expect(r.code).toBe(EXIT_OK);
      expect(r.out).toContain(`usage: lfm ${cmd}`);
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await lfm('--version')).out.trim()).toBe(pkg.version);
  });
});

describe('lfm as a process', () => {
  // node --import tsx runs the TypeScript entry point as `npm run lfm` does; checks process.exitCode.
  const node = (...argv: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...argv], { cwd: ROOT, encoding: 'utf8' });

  it('runs logits from the shell and returns 0 / 1 / 2', () => {
    const out = join(dir, 'spawned.f32');
    const ok = node('logits', '--model', ggufF32, '--tokens', TOKENS.join(','), '--out', out);
    expect(ok.status, ok.stderr).toBe(EXIT_OK);
    expect(ok.stderr).toContain(`T=${TOKENS.length} V=${V}`);
    expect(readFileSync(out).length).toBe(TOKENS.length * V * 4);
    rmSync(out);

    const usage = node('logits', '--model', ggufF32, '--tokens', '1,,2', '--out', out);
    expect(usage.status).toBe(EXIT_USAGE);
    expect(usage.stderr.trim()).toMatch(/^error: .*item 2 is empty/);

    const runtime = node('logits', '--model', join(dir, 'nope.gguf'), '--tokens', '1', '--out', out);
    expect(runtime.status).toBe(EXIT_RUNTIME);
    expect(runtime.stderr.trim()).toMatch(/^error: .*does not exist$/);
    expect(leftovers()).toEqual([]);
  });
});
