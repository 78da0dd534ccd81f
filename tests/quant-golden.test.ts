// reference/quant.ts against ggml itself: golden/quant/*.bin hold inputs, ggml's quantized bytes and ggml's
// dequantized floats (made by golden/quant-golden.ts through llama.cpp's libggml-base). This test needs no native
// code: it only reads those committed files.
//
// Exactness: every quantizer (Q4_0, Q8_0, the K-quants' scale search, Q8_K activations) must give ggml's bytes,
// byte for byte; every dequantizer must give ggml's floats bit for bit. The one allowance: any NaN equals any NaN (C's 0*inf gives x86's default NaN 0xffc00000, a JS
// engine may write a different NaN pattern; both are "NaN" to every consumer).

import { describe, expect, it } from 'vitest';

import { GGML_TYPES, ggmlTypeName } from '../reference/ggml-type.js';
import { f32Bits } from '../reference/f16.js';
import { dequantize, quantize } from '../reference/quant.js';
import {
  CASE_QUANTIZED,
  QUANT_GOLDEN_REGENERATE,
  QUANT_GOLDEN_TYPES,
  type QuantGoldenCase,
  type QuantGoldenFile,
  quantGoldenCases,
  readQuantGolden,
} from '../golden/quant-golden.js';

/** Bytes shown around a mismatching block. */
const SHOW_BYTES = 12;

const hex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
const bitsHex = (x: number) => '0x' + f32Bits(x).toString(16).padStart(8, '0');
const sameF32 = (a: number, b: number) => f32Bits(a) === f32Bits(b) || (Number.isNaN(a) && Number.isNaN(b));

/** The first element where ours and ggml's floats differ, described with type, case, block, element and bytes. */
function firstFloatMismatch(file: QuantGoldenFile, c: QuantGoldenCase, ours: Float32Array, what: string): string | null {
  for (let i = 0; i < c.dequant.length; i++) {
    if (sameF32(ours[i], c.dequant[i])) continue;
    const block = Math.floor(i / file.blockSize);
    const blockBytes = c.bytes.subarray(block * file.typeSize, (block + 1) * file.typeSize);
    let count = 0;
    for (let k = i; k < c.dequant.length; k++) if (!sameF32(ours[k], c.dequant[k])) count++;
    return (
      `${ggmlTypeName(file.type)} case '${c.name}' ${what}: block ${block} element ${i % file.blockSize} (flat ${i}): ` +
      `ours ${ours[i]} (${bitsHex(ours[i])}) vs ggml ${c.dequant[i]} (${bitsHex(c.dequant[i])}); ` +
      `${count} of ${c.dequant.length} differ; block bytes [0..${SHOW_BYTES}) ${hex(blockBytes.subarray(0, SHOW_BYTES))}`
    );
  }
  return null;
}

function firstByteMismatch(file: QuantGoldenFile, c: QuantGoldenCase, ours: Uint8Array): string | null {
  if (ours.length !== c.bytes.length) return `${ggmlTypeName(file.type)} case '${c.name}': ${ours.length} bytes vs ggml ${c.bytes.length}`;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] === c.bytes[i]) continue;
    const block = Math.floor(i / file.typeSize);
    const at = block * file.typeSize;
    const inputs = c.input!.subarray(block * file.blockSize, block * file.blockSize + 4);
    return (
      `${ggmlTypeName(file.type)} case '${c.name}': block ${block} byte ${i - at}: ours 0x${ours[i].toString(16)} vs ggml ` +
      `0x${c.bytes[i].toString(16)}\n  ours [0..${SHOW_BYTES}) ${hex(ours.subarray(at, at + SHOW_BYTES))}\n  ggml [0..${SHOW_BYTES}) ` +
      `${hex(c.bytes.subarray(at, at + SHOW_BYTES))}\n  block inputs start ${Array.from(inputs).join(', ')}`
    );
  }
  return null;
}

// Loaded once; a missing or stale file fails every test below with the regenerate command.
let loaded: ReturnType<typeof readQuantGolden> | Error;
try {
  loaded = readQuantGolden();
} catch (e) {
  loaded = e as Error;
}
function golden(type: number): QuantGoldenFile {
  if (loaded instanceof Error) throw loaded;
  const f = loaded.files.find((x) => x.type === type);
  if (!f) throw new Error(`golden/quant has no ${ggmlTypeName(type)} file; regenerate with: ${QUANT_GOLDEN_REGENERATE}`);
  return f;
}

describe('quant goldens (ggml libggml-base)', () => {
  it('manifest lists every type; files match their sha256 and format version', () => {
    if (loaded instanceof Error) throw loaded;
    expect(loaded.files.map((f) => f.type)).toEqual([...QUANT_GOLDEN_TYPES]);
    for (const f of loaded.files) {
      const info = GGML_TYPES.get(f.type)!;
      expect([f.blockSize, f.typeSize]).toEqual([info.blockSize, info.typeSize]);
    }
  });

  for (const type of QUANT_GOLDEN_TYPES) {
    const name = ggmlTypeName(type);

    it(`${name}: stored inputs are what golden/quant-golden.ts generates now (else stale)`, () => {
      const f = golden(type);
      const specs = quantGoldenCases(type);
      const stale = (msg: string) =>
        new Error(`golden/quant/${name.toLowerCase()}.bin is stale (${msg}); regenerate with: ${QUANT_GOLDEN_REGENERATE}`);
      if (specs.length !== f.cases.length) throw stale(`${f.cases.length} cases stored, ${specs.length} generated`);
      specs.forEach((s, k) => {
        const c = f.cases[k];
        if (s.name !== c.name || s.kind !== c.kind || s.nBlocks !== c.nBlocks) throw stale(`case ${k} is '${c.name}', generator says '${s.name}'`);
        const a = s.kind === CASE_QUANTIZED ? s.input! : s.raw!;
        const b = s.kind === CASE_QUANTIZED ? c.input! : c.bytes;
        const aBits = s.kind === CASE_QUANTIZED ? new Uint32Array(a.buffer.slice(0)) : a;
        const bBits = s.kind === CASE_QUANTIZED ? new Uint32Array(b.buffer.slice(0)) : b;
        for (let i = 0; i < aBits.length; i++) if (aBits[i] !== bBits[i]) throw stale(`case '${s.name}' input ${i} differs`);
      });
    });

    it(`${name}: quantize${name} is byte-identical to quantize_row_${name.toLowerCase().replace('_k', '_K')}_ref`, () => {
      const f = golden(type);
      const errors: string[] = [];
      let checked = 0;
      for (const c of f.cases) {
        if (c.kind !== CASE_QUANTIZED) continue;
        const m = firstByteMismatch(f, c, quantize(type, c.input!));
        if (m) errors.push(m);
        checked += c.nBlocks;
      }
      expect(errors, errors.join('\n')).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    });

    it(`${name}: dequantize is bit-identical to dequantize_row_${name.toLowerCase()}`, () => {
      const f = golden(type);
      const errors: string[] = [];
      let checked = 0;
      for (const c of f.cases) {
        const ours = dequantize(type, c.bytes, c.nBlocks * f.blockSize);
        const m = firstFloatMismatch(f, c, ours, 'dequantize');
        if (m) errors.push(m);
        checked += ours.length;
      }
      expect(errors, errors.join('\n')).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    });
  }
});
