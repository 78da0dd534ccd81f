// The WASM SIMD engine's core: loads an LFM2 model into WebAssembly memory and runs the forward step there
// (assembly/model.ts), one call per prefill chunk or decode step, synchronously. It runs in a worker (with
// threads: one instance per worker over one shared memory, this core on the leading one) or on the caller's
// thread; wasm-engine.ts puts it behind the asynchronous Engine interface.
//
// Loading (wasm-tensors.ts): tensors stream from the byte source into WASM memory a few MiB at a time (never the
// whole file in one JS buffer). By default every matrix runs at its stored type: Q4_0, Q8_0, Q4_K, Q5_K and Q6_K
// are repacked into the 4-row interleaved layouts (same bytes per weight), F16 and BF16 rows are copied as they
// are (2 bytes per weight), F32 stays f32. Only on request are they converted: `weights: 'q8_0'` / `'q4_0'`
// dequantize chunk by chunk and quantize with ggml's reference quantizers (the way llama-quantize would);
// `weights: 'f32'` keeps every matrix in f32: the exactness mode, held to the fp32 oracle within 1e-4. Norm
// weights and the conv kernel are always f32.
//
// State: the position, per conv layer the last Lc-1 rows of b*x, per attention layer K and V rows (f16 by default,
// rounded to nearest even as llama.cpp's cache; f32 with `kvCache: 'f32'`) for every position up to the capacity.
// The capacity is the model's own context unless asked for less (or it does not fit in WASM memory): its cache is
// reserved up front as address space only, and pages become resident as positions fill. A snapshot holds only the
// conv states and the tokens: the K/V rows of a prefix are never rewritten while the cache still holds that prefix
// (later tokens go to later rows), so restore() just sets the position back when the cache's tokens start with the
// snapshot's, and re-reads the snapshot's tokens otherwise (bitwise the same state: prefill equals step-by-step
// decoding).
//
// Deliberately not here (yet): chunked reads of HF safetensors tensors (each is read whole, then converted in
// chunks).

import { InputError, TensorError } from '../../reference/errors.js';
import { deriveDims, type Lfm2Dims } from '../../reference/config.js';
import { checkFinite } from '../../reference/finite.js';
import { GgmlType, ggmlTypeName, GGML_TYPES } from '../../reference/ggml-type.js';
import type { ModelInput } from '../../reference/load.js';
import type { TapFn } from '../../reference/model.js';
import { dequantize } from '../../reference/quant.js';
import { GLOBAL_TENSORS, LAYER_TENSORS, LM_HEAD, type TensorNameEntry } from '../../reference/tensor-names.js';
import { tensorResolver } from '../../reference/weights.js';
import type { EngineInfo, EngineSnapshot } from './types.js';
import { ATT_BLOCK, CTL_BYTES, KV_TILE, L, M, tapName, WeightCode, weightBytes } from './wasm-layout.js';
import { CTL_ADDRESS, UnsupportedModelError, wasmUnsupported, WasmUnavailableError, type Arena, type WasmBuild, type WasmExports, type WasmInstance } from './wasm-module.js';
import { instantiateEngineModule } from './wasm-builds.js';
import { loadMatrix, openTensors, type RawTensors } from './wasm-tensors.js';
import { checkWasmEngineOptions } from './wasm-options.js';

export type { ByteSourceReadInto } from './wasm-tensors.js';

/** The `weights` option (checked in wasm-options.ts): 'auto' = every matrix at its stored type. */
export type WasmWeights = 'auto' | 'q8_0' | 'q4_0' | 'f32';

export interface WasmEngineOptions {
  /**
   * How matrices are held: 'auto' (default) at their stored type (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K);
   * 'q8_0' / 'q4_0' convert every matrix not already of that type to it (ggml's reference quantizers);
   * 'f32' holds every matrix in f32 (exact, 4 bytes per weight). Rows whose length the layout cannot take (not a
   * multiple of 32 for Q8_0 / Q4_0, of 8 for F16 / BF16) stay f32.
   */
  weights?: WasmWeights;
  /** 'auto' (default): the relaxed-SIMD build where it validates and passes its self-test, else baseline. */
  simd?: 'auto' | WasmBuild;
  /**
   * Positions the engine holds (default: the model's own context, config max_position_embeddings / GGUF
   * lfm2.context_length, or as many as fit in WASM memory when fewer do; a larger value is cut to the model's).
   * The KV cache is reserved as address space up front and becomes resident as positions fill.
   */
  contextLength?: number;
  /**
   * KV cache elements: 'f16' (default: half the memory; rounded to nearest even on write, as llama.cpp's cache)
   * or 'f32' (exact). LFM2.5-1.2B: 12 KiB per position in f16, 24 KiB in f32.
   */
  kvCache?: 'f16' | 'f32';
  /** Most tokens per forward call during prefill (default 64). */
  prefillChunk?: number;
  /**
   * Threads (createWasmEngine): compute threads, each a worker over one shared memory. Default: the cores the
   * runtime reports. 1 still runs in a worker, off the caller's thread.
   */
  threads?: number;
  /**
   * prefill/decode return the same (V) array every time, overwritten by the next call (default false: a fresh
   * array per call). For streaming samplers: saves a 256 KiB allocation per token, which otherwise piles up as
   * garbage (tens of MiB of peak RSS) between collections.
   */
  reuseLogits?: boolean;
}

export interface WasmForwardOptions {
  /** Logits for every new position (T, V); by default only the last one (V). */
  allLogits?: boolean;
  /** Intermediate activations under the oracle's HF-path names (a copy per call). */
  tap?: TapFn;
}

/**
 * The engine's in-thread core: the WASM instance and its memory, driven synchronously. It runs inside a worker
 * (src/engine/worker/) or, where a runtime has no workers, on the caller's thread between yields; users get it
 * through createWasmEngine (wasm-engine.ts), which wraps it in the asynchronous Engine interface.
 */
export interface WasmCore extends EngineInfo {
  readonly kind: 'wasm';
  /** Tokens consumed so far. */
  readonly position: number;
  /** Which module runs: 'relaxed' (relaxed SIMD) or 'baseline' (SIMD128). */
  readonly build: WasmBuild;
  /** Threads that run each step (1 without a thread team). */
  readonly threads: number;
  /** Why the relaxed build is not used, when it is not. */
  readonly relaxedRejected?: string;
  readonly dims: Lfm2Dims;
  /** Bytes of weights in WASM memory (matrices, norms, conv kernels). */
  readonly weightBytes: number;
  /**
   * Size of the WASM memory after load: weights + scratch + the KV cache of the whole context (reserved address
   * space: its pages become resident as positions fill).
   */
  readonly memoryBytes: number;
  /** The KV cache's element type. */
  readonly kvCache: 'f16' | 'f32';
  /** Per matrix: its stored type and the layout it runs in, e.g. {"blk.0.ffn_up.weight": "Q6_K -> Q6_K"}. */
  readonly weightLayouts: ReadonlyMap<string, string>;
  /** Runs tokens from the current position; returns (T, V) with allLogits, else the last row (V). */
  forward(tokens: readonly number[], opts?: WasmForwardOptions): Float32Array;
  /** forward(tokens): the logits after the last token (V). */
  prefill(tokens: readonly number[]): Float32Array;
  /** forward([token]). */
  decode(token: number): Float32Array;
  /**
   * forward(tokens) without copying the logits out: returns the byte offset of the last row (V floats) in the
   * WASM memory, valid until the next call (the worker engine reads it from the shared memory on the host).
   */
  feedInPlace(tokens: readonly number[]): number;
  reset(): void;
  save(): WasmSnapshot;
  restore(s: EngineSnapshot): void;
  dispose(): void;
}

/** A snapshot: the conv states and the tokens fed (plain data: it crosses worker boundaries). */
export interface WasmSnapshot extends EngineSnapshot {
  /** The engine that took it (a random id). */
  readonly engineId: number;
  readonly tokens: Int32Array;
  readonly conv: Float32Array[];
}

/**
 * How a core runs: the instance (on this thread) and, with threads, the team of other instances over the same
 * shared memory that join every forward step (worker/thread-team.ts).
 */
export interface CoreEnv {
  instance: WasmInstance;
  threads?: ThreadTeam;
}

/** The other threads, seen from the leading one: how many there are in all, and how to start a step. */
export interface ThreadTeam {
  /** Threads in all, the leading one included. */
  readonly nth: number;
  /** Wakes the others to run forward(desc, ith, nth) with the leader, which then runs its own share. */
  start(desc: number): void;
}

// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_CHUNK = 64;
/** Logit rows per forward call are capped so the logits buffer stays near this size (only allLogits needs more than one). */
const LOGITS_BUDGET = 1 << 20;
/** Load staging target: rows are read and converted this many bytes (of f32) at a time. */
const STAGING_BYTES = 4 << 20;

/**
 * Loads a model into a WASM core. Takes ownership of the byte source (closed after load). Without `env` the core
 * runs on this thread with a fresh instance of the best build.
 */
export async function createWasmCore(input: ModelInput, opts: WasmEngineOptions = {}, env?: CoreEnv): Promise<WasmCore> {
  try {
    checkWasmEngineOptions(opts, 'options'); // a bad option is an InputError, not a NaN in the layout
  } catch (e) {
    await ('gguf' in input ? input.gguf.close?.() : undefined); // we own the source: close it on every path
    throw e;
  }
  const { config, tensors, close } = await openTensors(input);
  try {
    const dims = deriveDims(config);
    const unsupported = wasmUnsupported(dims);
    if (unsupported) throw new UnsupportedModelError(tensors.name, unsupported.field, unsupported.message);
    return await buildCore(dims, tensors, opts, env ?? { instance: instantiateEngineModule({ simd: opts.simd }) });
  } finally {
    await close();
  }
}

/**
 * Throws the InputError a forward call gets for these tokens at this position: no tokens, an id outside the
 * vocabulary, or more positions than the context holds. (The chunked prefill of wasm-engine.ts checks the whole
 * prompt with it before feeding the first chunk.)
 */
export function checkTokens(tokens: readonly number[], position: number, V: number, capacity: number, maxPositions: number): void {
  if (tokens.length < 1) throw new InputError('forward: no tokens given');
  tokens.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new InputError(`forward: token id ${id} at index ${t} is outside the vocabulary 0..${V - 1}`);
  });
  if (position + tokens.length > capacity) {
    throw new InputError(`forward: ${position + tokens.length} positions exceed the engine's context of ${capacity}${capacity < maxPositions ? ` (contextLength option; the model allows ${maxPositions})` : ''}`);
  }
}

// --- the plan: every tensor resolved and given a layout before anything is allocated --------------------------

interface Mat { name: string; R: number; K: number; code: WeightCode; ptr: number }
interface Vec { name: string; n: number; ptr: number; transposeLc?: boolean }
interface ConvLayer { kind: 'conv'; opNorm: Vec; ffnNorm: Vec; w1: Mat; w3: Mat; w2: Mat; inProj: Mat; conv: Vec; outProj: Mat }
interface AttnLayer { kind: 'full_attention'; opNorm: Vec; ffnNorm: Vec; w1: Mat; w3: Mat; w2: Mat; q: Mat; k: Mat; v: Mat; o: Mat; qn: Vec; kn: Vec }
interface Plan { mats: Mat[]; vecs: Vec[]; embed: Mat; head: Mat; finalNorm: Vec; layers: (ConvLayer | AttnLayer)[] }

function planModel(dims: Lfm2Dims, src: RawTensors, mode: NonNullable<WasmEngineOptions['weights']>): Plan {
  const tensors = tensorResolver(src, dims);
  const resolve = (e: TensorNameEntry, layer: number | null): { name: string; shape: number[] } => {
    const r = tensors.resolve(e, layer);
    const t = src.type(r.name);
    if (!GGML_TYPES.get(t)?.supported) throw new TensorError(src.name, r.name, `has type ${ggmlTypeName(t)}, which the engine cannot read`);
    return r;
  };
  /** The layout a matrix runs in: its stored type unless `weights` asks for another. */
  const layoutOf = (name: string, Kin: number): WeightCode => {
    const t = src.type(name);
    if (mode === 'f32') return WeightCode.F32;
    if (mode === 'q8_0') return Kin % 32 === 0 ? WeightCode.Q8_0_X4 : WeightCode.F32;
    if (mode === 'q4_0') return Kin % 32 === 0 ? WeightCode.Q4_0_X4 : WeightCode.F32;
    switch (t) {
      case GgmlType.Q4_0: return WeightCode.Q4_0_X4;
      case GgmlType.Q8_0: return WeightCode.Q8_0_X4;
      case GgmlType.Q4_K: return WeightCode.Q4_K_X4;
      case GgmlType.Q5_K: return WeightCode.Q5_K_X4;
      case GgmlType.Q6_K: return WeightCode.Q6_K_X4;
      case GgmlType.F16: return Kin % 8 === 0 ? WeightCode.F16 : WeightCode.F32;
      case GgmlType.BF16: return Kin % 8 === 0 ? WeightCode.BF16 : WeightCode.F32;
      default: return WeightCode.F32;
    }
  };
  const mats: Mat[] = [];
  const vecs: Vec[] = [];
  const mat = (e: TensorNameEntry, layer: number | null): Mat => {
    const { name, shape } = resolve(e, layer);
    const m = { name, R: shape[0], K: shape[1], code: layoutOf(name, shape[1]), ptr: 0 };
    mats.push(m);
    return m;
  };
  const vec = (e: TensorNameEntry, layer: number | null, transposeLc = false): Vec => {
    const { name, shape } = resolve(e, layer);
    const v = { name, n: shape.reduce((a, b) => a * b, 1), ptr: 0, transposeLc };
    vecs.push(v);
    return v;
  };
  const layerEntry = (hf: string) => LAYER_TENSORS.find((e) => e.hf === hf)!;

  const embed = mat(GLOBAL_TENSORS[0], null);
  const finalNorm = vec(GLOBAL_TENSORS[1], null);
  const head = tensors.has(LM_HEAD, null) ? mat(LM_HEAD, null) : embed;
  const layers = dims.layerTypes.map((kind, l): ConvLayer | AttnLayer => {
    const get = (hf: string) => mat(layerEntry(hf), l);
    const norm = (hf: string, tr = false) => vec(layerEntry(hf), l, tr);
    const common = { opNorm: norm('operator_norm.weight'), ffnNorm: norm('ffn_norm.weight'), w1: get('feed_forward.w1.weight'), w3: get('feed_forward.w3.weight'), w2: get('feed_forward.w2.weight') };
    if (kind === 'conv') return { kind, ...common, inProj: get('conv.in_proj.weight'), conv: norm('conv.conv.weight', true), outProj: get('conv.out_proj.weight') };
    return {
      kind: 'full_attention', ...common,
      q: get('self_attn.q_proj.weight'), k: get('self_attn.k_proj.weight'), v: get('self_attn.v_proj.weight'), o: get('self_attn.out_proj.weight'),
      qn: norm('self_attn.q_layernorm.weight'), kn: norm('self_attn.k_layernorm.weight'),
    };
  });
  tensors.checkNoneLeft();
  return { mats, vecs, embed, head, finalNorm, layers };
}

// --- memory: control block, descriptor, small buffers, state, scratch (= load staging), weights, KV caches ----
// Everything is allocated here, during the load: the memory never grows afterwards, which threads rely on (the
// other threads attach to the shared memory once the load is over: worker/host.ts).

interface Buffers {
  ctl: number;
  desc: number;
  tokens: number;
  rope: number;
  convStates: number[];
  scratch: Record<string, number>;
  staging: number;
  stagingBytes: number;
  weightTotal: number;
}

function allocate(arena: Arena, wasm: WasmExports, plan: Plan, dims: Lfm2Dims, Tmax: number, logitRows: number, nth: number): Buffers {
  const { D, H, K, hd, F, V, Lc, nLayers } = dims;
  const ctl = arena.alloc(CTL_BYTES);
  if (ctl !== CTL_ADDRESS) throw new Error(`engine: the thread control block must be the first allocation (at ${CTL_ADDRESS}, got ${ctl})`);
  const desc = arena.alloc((M.LAYERS + nLayers * M.LAYER_WORDS) * 4);
  const tokens = arena.alloc(Tmax * 4);
  const rope = arena.alloc(Tmax * hd * 4);
  const convStates = dims.layerTypes.map((t) => (t === 'conv' ? arena.alloc((Lc - 1) * D * 4) : 0));
  const Kmax = Math.max(D, F, H * hd);
  // the activation forms the weights' types need besides x itself and Q8_0 (assembly/model.ts prep())
  const codes = new Set(plan.mats.map((m) => m.code));
  const kquants = [WeightCode.Q4_K_X4, WeightCode.Q5_K_X4, WeightCode.Q6_K_X4].some((c) => codes.has(c));
  const sizes = {
    h: Tmax * D * 4, xb: Tmax * D * 4, ob: Tmax * D * 4, bcx: Tmax * 3 * D * 4, bx: (Lc - 1 + Tmax) * D * 4,
    q: Tmax * H * hd * 4, k: Tmax * K * hd * 4, v: Tmax * K * hd * 4, attn: Tmax * H * hd * 4, gate: Tmax * F * 4, up: Tmax * F * 4,
    act: Tmax * wasm.actRowBytes(Math.ceil(Kmax / 32) * 32), logits: logitRows * Math.ceil(V / 4) * 4 * 4,
    convOut: Tmax * D * 4, convY: Tmax * D * 4,
    attnWork: nth * wasm.attnWorkFloats(H / K, hd) * 4, attnMl: Tmax * H * 2 * 4,
    actK: kquants ? Tmax * wasm.actKRowBytes(Math.ceil(Kmax / 256) * 256) : 0,
    xf16: codes.has(WeightCode.F16) ? Tmax * Kmax * 4 : 0,
    xbf16: codes.has(WeightCode.BF16) ? Tmax * Kmax * 4 : 0,
  };
  const scratchStart = arena.mark();
  const scratch: Record<string, number> = {};
  for (const [k, n] of Object.entries(sizes)) scratch[k] = arena.alloc(n);
  const stagingBytes = Math.max(arena.mark() - scratchStart, STAGING_BYTES);
  arena.alloc(scratchStart + stagingBytes - arena.mark()); // the staging area may extend past the scratch buffers

  let weightTotal = 0;
  for (const m of plan.mats) {
    if (m.ptr) continue; // the tied head is the embedding
    const n = weightBytes(m.code, m.R, m.K);
    m.ptr = arena.alloc(n);
    weightTotal += n;
  }
  for (const v of plan.vecs) {
    v.ptr = arena.alloc(v.n * 4);
    weightTotal += v.n * 4;
  }
  return { ctl, desc, tokens, rope, convStates, scratch, staging: scratch.h, stagingBytes, weightTotal };
}

// --- the context: KV caches and the decode partials, sized by the positions held -----------------------------

interface Context {
  capacity: number;
  kv: ({ k: number; v: number } | null)[];
  /** Decode partials (assembly/attention.ts): (H, blocks, hd + 4) floats. */
  parts: number;
}

/** Bytes of the context at a capacity (each allocation aligned to 64). */
function contextBytes(dims: Lfm2Dims, capacity: number, elementBytes: number): number {
  const rows = Math.ceil(capacity / KV_TILE) * KV_TILE;
  const cache = rows * dims.K * dims.hd * elementBytes + 64;
  return dims.attnLayers.length * 2 * cache + Math.ceil(capacity / ATT_BLOCK) * dims.H * (dims.hd + 4) * 4 + 64;
}

/**
 * Places the context after everything else: the positions asked for (default the model's own), cut to the model's;
 * when the memory cannot grow that far, the default shrinks to what fits and an explicit request is an InputError
 * saying how many positions fit.
 */
function allocateContext(arena: Arena, dims: Lfm2Dims, requested: number | undefined, elementBytes: number): Context {
  const want = Math.min(requested ?? dims.maxPositions, dims.maxPositions);
  let capacity = want;
  while (!arena.reserve(contextBytes(dims, capacity, elementBytes))) {
    // each refused grow leaves the memory as it was: step down by ~10% (whole blocks) until one is granted
    const next = Math.floor((capacity * 0.9) / ATT_BLOCK) * ATT_BLOCK;
    if (next < ATT_BLOCK) throw new WasmUnavailableError(`out of WASM memory: no room for a KV cache of ${ATT_BLOCK} positions after the weights (${(arena.mark() / 2 ** 20).toFixed(0)} MiB)`);
    capacity = next;
  }
  if (capacity < want && requested !== undefined) {
    const cache = (contextBytes(dims, want, elementBytes) / 2 ** 20).toFixed(0);
    const hint = elementBytes === 4 ? "; kvCache 'f16' holds twice as many" : '';
    throw new InputError(`contextLength ${requested}: its KV cache (${cache} MiB) does not fit in WASM memory next to the weights (${(arena.mark() / 2 ** 20).toFixed(0)} MiB); about ${capacity} positions fit${hint}`);
  }
  const rows = Math.ceil(capacity / KV_TILE) * KV_TILE;
  const cacheBytes = rows * dims.K * dims.hd * elementBytes;
  const parts = arena.alloc(Math.ceil(capacity / ATT_BLOCK) * dims.H * (dims.hd + 4) * 4);
  const kv = dims.layerTypes.map((t) => (t === 'conv' ? null : { k: arena.alloc(cacheBytes), v: arena.alloc(cacheBytes) }));
  return { capacity, kv, parts };
}

/** Streams every weight into its place; returns "stored -> layout" per matrix. */
async function loadWeights(wasm: WasmExports, arena: Arena, src: RawTensors, plan: Plan, b: Buffers, dims: Lfm2Dims): Promise<Map<string, string>> {
  const layouts = new Map<string, string>();
  const codeName = (c: WeightCode) => ggmlTypeName(c); // the codes are GGML type ids
  for (const m of plan.mats) {
    if (layouts.has(m.name)) continue;
    const t = src.type(m.name);
    layouts.set(m.name, `${ggmlTypeName(t)} -> ${codeName(m.code)}`);
    await loadMatrix(wasm, arena, src, m.name, t, m.R, m.K, m.code, m.ptr, b.staging, b.stagingBytes);
  }
  const { D, Lc } = dims;
  for (const v of plan.vecs) {
    const t = src.type(v.name);
    const raw = await src.readRows(v.name, 0, 1, v.n);
    checkFinite(t, raw, src.name, v.name); // NaN / Inf weights are a TensorError at load
    const x = dequantize(t, raw, v.n);
    if (v.transposeLc) {
      // (D, Lc) -> (Lc, D): tap k of every channel contiguous, for the SIMD conv
      const out = arena.f32(v.ptr, v.n);
      for (let ch = 0; ch < D; ch++) for (let k = 0; k < Lc; k++) out[k * D + ch] = x[ch * Lc + k];
    } else arena.f32(v.ptr, v.n).set(x);
  }
  return layouts;
}

/** The model descriptor that assembly/model.ts reads (word offsets in wasm-layout.ts). */
function writeDescriptor(arena: Arena, plan: Plan, b: Buffers, ctx: Context, dims: Lfm2Dims, Tmax: number, f16: boolean): void {
  const words = arena.i32(b.desc, M.LAYERS + dims.nLayers * M.LAYER_WORDS);
  const wf = new Float32Array(words.buffer, words.byteOffset, words.length);
  Object.assign(words, { [M.D]: dims.D, [M.H]: dims.H, [M.K]: dims.K, [M.HD]: dims.hd, [M.F]: dims.F, [M.V]: dims.V, [M.LC]: dims.Lc, [M.NLAYERS]: dims.nLayers });
  wf[M.EPS] = dims.eps;
  Object.assign(words, {
    [M.CAPACITY]: ctx.capacity, [M.POS]: 0, [M.KV_F16]: f16 ? 1 : 0, [M.ATTN_PARTS]: ctx.parts, [M.TMAX]: Tmax, [M.CTL]: b.ctl, [M.TOKENS]: b.tokens, [M.ROPE]: b.rope,
    [M.EMBED]: plan.embed.ptr, [M.EMBED_T]: plan.embed.code, [M.HEAD]: plan.head.ptr, [M.HEAD_T]: plan.head.code, [M.FINAL_NORM]: plan.finalNorm.ptr,
  });
  const s = b.scratch;
  Object.assign(words, {
    [M.H_BUF]: s.h, [M.XB]: s.xb, [M.OB]: s.ob, [M.BCX]: s.bcx, [M.BX]: s.bx, [M.Q]: s.q, [M.KB]: s.k, [M.VB]: s.v, [M.ATTN]: s.attn,
    [M.GATE]: s.gate, [M.UP]: s.up, [M.ACT]: s.act, [M.LOGITS]: s.logits, [M.CONV_OUT]: s.convOut, [M.CONV_Y]: s.convY,
    [M.ATTN_WORK]: s.attnWork, [M.ATTN_ML]: s.attnMl,
    [M.ACTK]: s.actK, [M.XF16]: s.xf16, [M.XBF16]: s.xbf16,
  });
  plan.layers.forEach((lw, l) => {
    const o = M.LAYERS + l * M.LAYER_WORDS;
    const set = (i: number, v: number) => (words[o + i] = v);
    const mat = (p: number, t: number, m: Mat) => (set(p, m.ptr), set(t, m.code));
    set(L.KIND, lw.kind === 'conv' ? 0 : 1);
    set(L.OP_NORM, lw.opNorm.ptr);
    set(L.FFN_NORM, lw.ffnNorm.ptr);
    mat(L.W1, L.W1_T, lw.w1), mat(L.W3, L.W3_T, lw.w3), mat(L.W2, L.W2_T, lw.w2);
    if (lw.kind === 'conv') {
      mat(L.IN, L.IN_T, lw.inProj), mat(L.OUT, L.OUT_T, lw.outProj);
      set(L.CONV, lw.conv.ptr), set(L.STATE, b.convStates[l]);
    } else {
      mat(L.QP, L.QP_T, lw.q), mat(L.KP, L.KP_T, lw.k), mat(L.VP, L.VP_T, lw.v), mat(L.OP, L.OP_T, lw.o);
      set(L.QN, lw.qn.ptr), set(L.KN, lw.kn.ptr), set(L.KC, ctx.kv[l]!.k), set(L.VC, ctx.kv[l]!.v);
    }
  });
}

async function buildCore(dims: Lfm2Dims, src: RawTensors, opts: WasmEngineOptions, env: CoreEnv): Promise<WasmCore> {
  const { hd, V, Lc, D } = dims;
  if (opts.contextLength !== undefined && !(Number.isInteger(opts.contextLength) && opts.contextLength >= 1)) {
    throw new InputError(`engine: contextLength must be a positive integer, got ${opts.contextLength}`);
  }
  const kvCache = opts.kvCache ?? 'f16';
  if (kvCache !== 'f16' && kvCache !== 'f32') throw new InputError(`engine: kvCache must be 'f16' or 'f32', got ${JSON.stringify(opts.kvCache)}`);
  const Tmax = Math.max(1, Math.floor(opts.prefillChunk ?? DEFAULT_CHUNK));
  const logitRows = Math.max(1, Math.min(Tmax, Math.floor(LOGITS_BUDGET / (4 * V))));
  const { instance: inst, threads: team } = env;
  const { exports: wasm, arena } = inst;
  const nth = team?.nth ?? 1;

  const plan = planModel(dims, src, opts.weights ?? 'auto');
  const b = allocate(arena, wasm, plan, dims, Tmax, logitRows, nth);
  const ctx = allocateContext(arena, dims, opts.contextLength, kvCache === 'f16' ? 2 : 4);
  const capacity = ctx.capacity;
  const layouts = await loadWeights(wasm, arena, src, plan, b, dims);
  writeDescriptor(arena, plan, b, ctx, dims, Tmax, kvCache === 'f16');

  // --- the core
  const engineId = Math.floor(Math.random() * 2 ** 31);
  let disposed = false;
  const live = () => {
    if (disposed) throw new InputError('engine: used after dispose()');
  };
  const word = (i: number) => arena.i32(b.desc, M.LAYERS)[i];
  const setWord = (i: number, v: number) => (arena.i32(b.desc, M.LAYERS)[i] = v);
  const pos = () => word(M.POS);
  const convLen = (Lc - 1) * D;
  const convs = b.convStates.filter((c) => c);
  /** The token at each cache position (what a snapshot's tokens are checked against). */
  const cached = new Int32Array(capacity);

  const check = (tokens: readonly number[]) => checkTokens(tokens, pos(), V, capacity, dims.maxPositions);

  let tapFn: TapFn | null = null;
  inst.onTap = (id, p, rows, cols) => tapFn?.(tapName(id), arena.f32(p, rows * cols).slice(), [rows, cols]);

  /** One forward step over n tokens (n <= Tmax) already in the tokens buffer, on every thread. */
  const step = (n: number, all: boolean) => {
    const p0 = pos();
    const cs = arena.f32(b.rope, n * hd);
    const half = hd / 2;
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < half; i++) {
        const angle = (p0 + t) * Math.pow(dims.ropeTheta, (-2 * i) / hd);
        cs[t * hd + i] = Math.cos(angle);
        cs[t * hd + half + i] = Math.sin(angle);
      }
    }
    setWord(M.NTOK, n);
    setWord(M.ALL_LOGITS, all ? 1 : 0);
    team?.start(b.desc);
    wasm.forward(b.desc, 0, nth);
  };

  const reused = opts.reuseLogits ? new Float32Array(V) : null;
  /** Runs the tokens; copies the logits into `out` (null: leaves the last row in WASM memory only). */
  const feed = (tokens: readonly number[], o: WasmForwardOptions, out: Float32Array | null): void => {
    live();
    check(tokens);
    const all = !!o.allLogits && out !== null;
    const chunk = all ? logitRows : Tmax;
    tapFn = o.tap ?? null;
    setWord(M.TAPS, tapFn ? 1 : 0);
    try {
      for (let at = 0; at < tokens.length; at += chunk) {
        const n = Math.min(chunk, tokens.length - at);
        const p0 = pos();
        arena.i32(b.tokens, n).set(tokens.slice(at, at + n));
        cached.set(tokens.slice(at, at + n), p0);
        step(n, all);
        if (all) out!.set(arena.f32(b.scratch.logits, n * V), at * V);
        else if (at + n === tokens.length) out?.set(arena.f32(b.scratch.logits, V));
      }
    } finally {
      tapFn = null;
    }
  };
  const run = (tokens: readonly number[], o: WasmForwardOptions = {}): Float32Array => {
    const out = !o.allLogits && reused ? reused : new Float32Array((o.allLogits ? tokens.length : 1) * V);
    feed(tokens, o, out);
    return out;
  };

  const reset = () => {
    live();
    setWord(M.POS, 0);
    for (const c of convs) arena.f32(c, convLen).fill(0);
  };

  const core: WasmCore = {
    kind: 'wasm',
    build: inst.build,
    relaxedRejected: inst.relaxedRejected,
    threads: nth,
    description: `wasm ${inst.build}, ${nth} thread${nth > 1 ? 's' : ''}`,
    dims,
    vocabSize: V,
    contextLength: capacity,
    kvCache,
    weightBytes: b.weightTotal,
    get memoryBytes() {
      return arena.memory.buffer.byteLength;
    },
    weightLayouts: layouts,
    get position() {
      return disposed ? 0 : pos();
    },
    forward: run,
    prefill: (tokens) => run(tokens),
    decode: (token) => run([token]),
    feedInPlace(tokens) {
      feed(tokens, {}, null);
      return b.scratch.logits;
    },
    reset,
    save(): WasmSnapshot {
      live();
      const p = pos();
      return { position: p, engineId, tokens: cached.slice(0, p), conv: convs.map((c) => arena.f32(c, convLen).slice()) };
    },
    restore(snap) {
      live();
      const sn = snap as WasmSnapshot;
      if (sn.engineId !== engineId) throw new InputError('engine: snapshot belongs to another engine');
      const p = sn.tokens.length;
      const intact = p <= capacity && sn.tokens.every((t, i) => cached[i] === t);
      if (!intact) {
        // the cache rows of this prefix were overwritten since: read the tokens again (bitwise the same state)
        reset();
        run(Array.from(sn.tokens));
        return;
      }
      convs.forEach((c, i) => arena.f32(c, convLen).set(sn.conv[i]));
      setWord(M.POS, p);
    },
    dispose() {
      disposed = true;
    },
  };
  return core;
}
