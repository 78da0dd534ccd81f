// Every defect the loader fuzzers found, replayed from its reproducer file (tests/fuzz/regressions/, listed with
// what went wrong before the fix in cases.ts): each must now fail with its typed error, naming the field or tensor,
// in every loader that reads it (for model files: the oracle and the WASM engine).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource, memoryFileSet } from '../../reference/bytes.js';
import { configFromHf, deriveDims } from '../../reference/config.js';
import { ConfigError, FormatError, TensorError } from '../../reference/errors.js';
import { loadModel, type ModelInput } from '../../reference/load.js';
import { createWasmCore } from '../../src/engine/wasm-core.js';
import { Lfm2Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { REGRESSIONS, type RegressionCase } from './regressions/cases.js';

const DIR = join(import.meta.dirname, 'regressions');

function folder(path: string): Record<string, Uint8Array> {
  const dir = join(DIR, path);
  return Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
}

/** The loaders a case's file goes through, each as a thunk. */
function loaders(c: RegressionCase): [string, () => Promise<unknown>][] {
  switch (c.kind) {
    case 'gguf': {
      const bytes = new Uint8Array(readFileSync(join(DIR, c.path)));
      const input = (): ModelInput => ({ gguf: bytesSource(bytes, c.path) });
      return [['reference', () => loadModel(input())], ['wasm', () => createWasmCore(input(), { contextLength: 4 })]];
    }
    case 'hf': {
      const files = folder(c.path);
      const input = (): ModelInput => ({ hf: memoryFileSet(files, c.path) });
      return [['reference', () => loadModel(input())], ['wasm', () => createWasmCore(input(), { contextLength: 4 })]];
    }
    case 'config': {
      const text = readFileSync(join(DIR, c.path), 'utf8');
      return [['configFromHf', async () => deriveDims(configFromHf(JSON.parse(text), c.path))]];
    }
    case 'tokenizer': {
      const f = folder(c.path);
      const text = (n: string) => new TextDecoder().decode(f[n]);
      return [['fromJson', async () => Lfm2Tokenizer.fromJson(text('tokenizer.json'), text('tokenizer_config.json'))]];
    }
  }
}

describe('fuzz regressions: each reproducer file gives its typed error', () => {
  it('every file in tests/fuzz/regressions/ is listed in cases.ts', () => {
    const listed = new Set(REGRESSIONS.map((c) => c.path));
    const onDisk = readdirSync(DIR).filter((f) => !f.endsWith('.ts') && !f.endsWith('.md'));
    expect(onDisk.filter((f) => !listed.has(f))).toEqual([]);
    for (const c of REGRESSIONS) expect(statSync(join(DIR, c.path)).size, c.path).toBeGreaterThan(0);
  });

  for (const c of REGRESSIONS) {
    if (c.error === null) continue;
    const { type, where, message } = c.error;
    for (const [engine, load] of loaders(c)) {
      it(`${c.path} (${engine}): ${type.name} at ${where} — was: ${c.before}`, async () => {
        const e = await load().then(
          () => new Error('loaded without an error'),
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(type);
        const err = e as FormatError | TensorError | ConfigError;
        const field = err instanceof TensorError ? err.tensor : err.field;
        expect(field).toBe(where);
        expect(err.message).toMatch(message);
        expect(err.message).toContain(c.kind === 'tokenizer' ? 'tokenizer' : c.path);
      });
    }
  }

  it('tokenizer-bad-post-processor: loads, and encodes like the tokenizer it was made from (its post-processor is not used)', () => {
    const f = folder('tokenizer-bad-post-processor');
    const text = (n: string) => new TextDecoder().decode(f[n]);
    const json = JSON.parse(text('tokenizer.json'));
    const t = Lfm2Tokenizer.fromJson(json, text('tokenizer_config.json'));
    const clean = Lfm2Tokenizer.fromJson({ ...json, post_processor: null }, text('tokenizer_config.json'));
    for (const s of ['<|im_start|>user\nHello there<|im_end|>', 'plain text 123']) {
      expect(t.encodeTemplate(s)).toEqual(clean.encodeTemplate(s));
      expect(t.encode(s, { addBos: true })).toEqual(clean.encode(s, { addBos: true }));
      expect(t.encodeTemplate(s).length).toBeGreaterThan(3);
    }
  });
});
