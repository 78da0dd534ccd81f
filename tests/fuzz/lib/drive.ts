// Drivers: feed one (mutated) input to the loaders the way the product does, all the way to a forward step.
//
// A model file goes to both engines: the oracle (reference loadModel, then forward) and the WASM core
// (createWasmCore, then forward). When one loads, its logits must be finite, unless the file holds finite weights
// so large (|w| > EXTREME_WEIGHT) that the arithmetic overflows: that is not a loader's business (the weights are
// what the file says), and it is counted apart as 'overflow'. NaN and Inf weights are the loader's business.
// A config must give sizes the forward pass can use (checkDims). A tokenizer must encode and decode text, with
// every id inside its vocabulary.

import { bytesSource, memoryFileSet } from '../../../reference/bytes.js';
import { configFromGguf, configFromHf, deriveDims, type Lfm2Config, type Lfm2Dims } from '../../../reference/config.js';
import { ggufGet, readGguf, type GgufFile } from '../../../reference/gguf.js';
import { loadModel, type LoadedModel, type ModelInput } from '../../../reference/load.js';
import { forward, newState } from '../../../reference/model.js';
import { createWasmCore } from '../../../src/engine/wasm-core.js';
import { Lfm2Tokenizer, type Lfm2TokenizerOptions } from '../../../src/tokenizer/tokenizer.js';
import { CaseFailure, classify, type CaseResult } from './census.js';

/** Weights beyond this magnitude may overflow f32 arithmetic in a forward pass (the tiny models' are below 2). */
export const EXTREME_WEIGHT = 1e4;

function allFinite(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** Largest |w| over every weight (NaN when a weight is NaN). */
function maxAbsWeight(m: LoadedModel): number {
  const w = m.weights;
  const arrays: Float32Array[] = [w.embed_tokens, w.embedding_norm, w.lm_head];
  for (const l of w.layers) {
    arrays.push(l.operator_norm, l.ffn_norm, l.feed_forward.w1, l.feed_forward.w2, l.feed_forward.w3);
    if (l.conv) arrays.push(l.conv.in_proj, l.conv.conv, l.conv.out_proj);
    if (l.self_attn) arrays.push(...Object.values(l.self_attn));
  }
  let m_ = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = Math.abs(a[i]);
      if (!(v <= m_)) m_ = v; // NaN sticks
      if (Number.isNaN(m_)) return NaN;
    }
  }
  return m_;
}

const ORDER = ['untyped', 'unnamed', 'hang', 'nonfinite', 'invalid'];
function worse(a: CaseResult, b: CaseResult): CaseResult {
  const rank = (r: CaseResult) => {
    const i = ORDER.findIndex((p) => r.outcome.startsWith(p));
    return i < 0 ? (r.outcome === 'ok' || r.outcome === 'overflow' ? 100 : 50) : i;
  };
  return rank(a) <= rank(b) ? a : b;
}

/**
 * Loads `input()` (a fresh source per engine) into the oracle and the WASM core and runs one token through each.
 * Returns the worse of the two outcomes; `names` are the strings a typed error must mention.
 */
export async function driveModel(input: () => ModelInput, names: readonly string[]): Promise<CaseResult> {
  let ref: CaseResult;
  let model: LoadedModel | undefined;
  try {
    model = await loadModel(input());
    const tok = model.dims.V > 1 ? 1 : 0;
    const logits = forward(model.weights, model.dims, newState(model.dims), [tok]);
    if (logits.length !== model.dims.V) throw new CaseFailure('invalid', `reference: ${logits.length} logits for V=${model.dims.V}`);
    ref = allFinite(logits) ? { outcome: 'ok' } : nonfinite('reference', maxAbsWeight(model));
  } catch (e) {
    ref = classify(e, names);
  }
  let wasm: CaseResult;
  try {
    const core = await createWasmCore(input(), { contextLength: 4, prefillChunk: 4 });
    const tok = core.dims.V > 1 ? 1 : 0;
    const logits = core.forward([tok]);
    if (model && JSON.stringify(core.dims) !== JSON.stringify(model.dims)) throw new CaseFailure('invalid', 'the engines derived different dims');
    wasm = allFinite(logits) ? { outcome: 'ok' } : nonfinite('wasm', model ? maxAbsWeight(model) : NaN);
  } catch (e) {
    wasm = classify(e, names);
  }
  const r = worse(ref, wasm);
  if (ref.outcome !== wasm.outcome && r.outcome !== 'overflow' && ALLOWED_PAIR(ref, wasm)) {
    return { outcome: r.outcome, detail: `reference ${ref.detail ?? ref.outcome} / wasm ${wasm.detail ?? wasm.outcome}` };
  }
  return r;
}

const ALLOWED_PAIR = (a: CaseResult, b: CaseResult) => !a.outcome.startsWith('untyped') && !b.outcome.startsWith('untyped');

function nonfinite(engine: string, maxAbs: number): CaseResult {
  if (Number.isFinite(maxAbs) && maxAbs > EXTREME_WEIGHT) return { outcome: 'overflow', detail: `overflow: |w| up to ${maxAbs.toExponential(1)}` };
  return { outcome: 'nonfinite', detail: `${engine}: non-finite logits, max |w| = ${maxAbs}` };
}

export async function driveGguf(bytes: Uint8Array, name: string): Promise<CaseResult> {
  const header = await readGguf(bytesSource(bytes, name));
  return driveModel(() => ({ gguf: bytesSource(bytes, name), header }), [name]);
}

export async function driveHf(files: Record<string, Uint8Array | string>, name: string): Promise<CaseResult> {
  return driveModel(() => ({ hf: memoryFileSet(files, name) }), [name]);
}

// --- configs --------------------------------------------------------------------------------------------------

const posInt = (x: number) => Number.isSafeInteger(x) && x > 0;

/** The sizes a forward pass needs must be usable: positive integers that agree, finite f32 eps and theta. */
export function checkDims(c: Lfm2Config, d: Lfm2Dims): void {
  const bad = (why: string) => {
    throw new CaseFailure('invalid', `accepted a config whose dims are unusable: ${why}`);
  };
  for (const k of ['D', 'H', 'K', 'hd', 'F', 'V', 'Lc', 'nLayers', 'maxPositions'] as const) if (!posInt(d[k])) bad(`${k} = ${d[k]}`);
  if (d.hd % 2 !== 0) bad(`odd head_dim ${d.hd}`);
  if (d.H % d.K !== 0) bad(`H ${d.H} % K ${d.K}`);
  if (d.layerTypes.length !== d.nLayers) bad(`${d.layerTypes.length} layer types for ${d.nLayers} layers`);
  if (!d.layerTypes.every((t) => t === 'conv' || t === 'full_attention')) bad('unknown layer type');
  if (!(Number.isFinite(d.eps) && d.eps >= 0)) bad(`eps ${d.eps}`);
  if (!(Number.isFinite(d.ropeTheta) && d.ropeTheta > 0)) bad(`rope theta ${d.ropeTheta}`);
  for (const id of [c.bos_token_id, c.eos_token_id, c.pad_token_id]) if (!(Number.isSafeInteger(id) && id >= 0 && id < d.V)) bad(`token id ${id}`);
}

export function driveConfigHf(json: unknown): CaseResult {
  const c = configFromHf(json, 'config.json');
  checkDims(c, deriveDims(c));
  return { outcome: 'ok' };
}

export function driveConfigGguf(file: GgufFile): CaseResult {
  const c = configFromGguf((k) => ggufGet(file, k), file.name, file.tensorsByName.get('token_embd.weight')?.dims[1]);
  checkDims(c, deriveDims(c));
  return { outcome: 'ok' };
}

// --- tokenizers -----------------------------------------------------------------------------------------------

const TEXTS = ['Hello world! 123 4567', '<|im_start|>user\nhi<|im_end|>\n', '<think>ok</think> done', 'é漢字 🎉\t\n  x', ''];

/** Encodes and decodes sample texts; every id must be in the vocabulary, and streaming must equal decode. */
export function driveTokenizer(t: Lfm2Tokenizer): CaseResult {
  for (const text of TEXTS) {
    for (const ids of [t.encode(text), t.encode(text, { addBos: true }), t.encodeTemplate(text)]) {
      for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < t.vocabSize)) throw new CaseFailure('invalid', `encode gave id ${id} (vocab ${t.vocabSize})`);
      const whole = t.decode(ids);
      const sd = t.createStreamDecoder();
      const streamed = ids.map((id) => sd.push(id)).join('') + sd.flush();
      if (streamed !== whole) throw new CaseFailure('invalid', 'stream decode differs from decode');
      t.decode(ids, { skipSpecial: true });
    }
  }
  return { outcome: 'ok' };
}

export function driveTokenizerJson(json: string | object, config: string | object | undefined, opts: Lfm2TokenizerOptions): CaseResult {
  return driveTokenizer(Lfm2Tokenizer.fromJson(json, config, opts));
}

export async function driveTokenizerGguf(bytes: Uint8Array, name: string, opts: Lfm2TokenizerOptions): Promise<CaseResult> {
  const file = await readGguf(bytesSource(bytes, name));
  return driveTokenizer(Lfm2Tokenizer.fromGguf(file, opts));
}
