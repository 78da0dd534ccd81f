// The WASM SIMD engine: loads an LFM2 model into WebAssembly memory and runs the forward step there
// (assembly/model.ts), one call per prefill chunk or decode step. Implements the Engine interface (types.ts).
//
// Loading: tensors stream from the byte source into WASM memory a few MiB at a time (never the whole file in one
// JS buffer). Q4_0 and Q8_0 matrices are repacked into the 4-row interleaved layouts (same bytes per weight);
// other stored types (F32, F16, BF16, Q4_K, Q5_K, Q6_K) are dequantized chunk by chunk and quantized to Q8_0 (or
// Q4_0 with `weights: 'q4_0'`), the way llama-quantize would (ggml's reference quantizers). `weights: 'f32'`
// keeps every matrix in f32: the exactness mode, held to the fp32 oracle within 1e-4. Norm weights and the conv
// kernel are always f32.
//
// State: the position, per conv layer the last Lc-1 rows of b*x, per attention layer K and V rows (f32) for every
// position up to the capacity. save()/restore() copy only the rows in use.
//
// Deliberately not here (yet): threads (the memory is already laid out for one instance per worker), an f16 KV
// cache, chunked reads of HF safetensors tensors (each is read whole, then converted in chunks).

import { InputError, TensorError } from '../../reference/errors.js';
import { configFromGguf, configFromHf, deriveDims, type Lfm2Config, type Lfm2Dims } from '../../reference/config.js';
import { checkFinite } from '../../reference/finite.js';
import { GgmlType, ggmlRowBytes, ggmlTypeName, GGML_TYPES } from '../../reference/ggml-type.js';
import { ggufGet, readGguf, type GgufFile } from '../../reference/gguf.js';
import type { ModelInput } from '../../reference/load.js';
import type { TapFn } from '../../reference/model.js';
import { dequantize } from '../../reference/quant.js';
import { openHfFolder, type HfFolder } from '../../reference/safetensors.js';
import { GLOBAL_TENSORS, LAYER_TENSORS, LM_HEAD, type TensorNameEntry } from '../../reference/tensor-names.js';
import { tensorResolver } from '../../reference/weights.js';
import type { ByteSource } from '../../reference/bytes.js';
import type { EngineInfo, EngineSnapshot } from './types.js';
import { L, M, tapName, WeightCode, weightBytes } from './wasm-layout.js';
import { instantiateEngineModule, type Arena, type WasmBuild, type WasmExports } from './wasm-module.js';

export interface WasmEngineOptions {
  /**
   * How matrices are held: 'auto' (default) keeps Q4_0 / Q8_0 as stored and converts every other type to Q8_0;
   * 'q4_0' converts the other types to Q4_0 instead; 'f32' holds every matrix in f32 (exact, 4 bytes per weight).
   */
  weights?: 'auto' | 'q4_0' | 'f32';
  /** 'auto' (default): the relaxed-SIMD build where it validates and passes its self-test, else baseline. */
  simd?: 'auto' | WasmBuild;
  /** Positions the KV cache holds (default: the model's context, at most 4096). */
  contextLength?: number;
  /** Most tokens per forward call during prefill (default 64). */
  prefillChunk?: number;
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
  /** Why the relaxed build is not used, when it is not. */
  readonly relaxedRejected?: string;
  readonly dims: Lfm2Dims;
  /** Bytes of weights in WASM memory (matrices, norms, conv kernels). */
  readonly weightBytes: number;
  /** Size of the WASM memory after load: weights + state capacity + scratch (KV pages are touched as used). */
  readonly memoryBytes: number;
  /** Per matrix: its stored type and the layout it runs in, e.g. {"blk.0.ffn_up.weight": "Q6_K -> Q8_0"}. */
  readonly weightLayouts: ReadonlyMap<string, string>;
  /** Runs tokens from the current position; returns (T, V) with allLogits, else the last row (V). */
  forward(tokens: readonly number[], opts?: WasmForwardOptions): Float32Array;
  /** forward(tokens): the logits after the last token (V). */
  prefill(tokens: readonly number[]): Float32Array;
  /** forward([token]). */
  decode(token: number): Float32Array;
  reset(): void;
  save(): WasmSnapshot;
  restore(s: EngineSnapshot): void;
  dispose(): void;
}

export interface WasmSnapshot extends EngineSnapshot {
  readonly owner: object;
  readonly conv: Float32Array[];
  readonly key: Float32Array[];
  readonly value: Float32Array[];
}

// ---------------------------------------------------------------------------------------------------------------
// Tensor access over GGUF (raw blocks, streamed in row ranges) and HF folders (raw tensor, converted in chunks)

interface RawTensors {
  name: string;
  naming: 'gguf' | 'hf';
  names(): string[];
  shape(name: string): number[] | undefined;
  /** ggml type id of the stored data (safetensors F32/F16/BF16 map to the same ids). */
  type(name: string): number;
  /** Bytes of rows [r0, r0+n) of a 2-D tensor with rows of K elements (or the whole tensor when 1-D). */
  readRows(name: string, r0: number, n: number, K: number): Promise<Uint8Array>;
  /** The same bytes written into `target` (WASM memory), when the byte source can read in place. */
  readRowsInto?(name: string, r0: number, n: number, K: number, target: Uint8Array): Promise<void>;
}

/**
 * A ByteSource that can also read straight into a caller's buffer. Optional: with it, weights go from the file
 * into WASM memory with no JS buffer in between (no garbage, lower peak RSS); without it, chunks are copied.
 */
export interface ByteSourceReadInto extends ByteSource {
  readInto(offset: number, target: Uint8Array, what?: string): Promise<void>;
}

function ggufTensors(file: GgufFile, src: ByteSource): RawTensors {
  return {
    name: src.name,
    naming: 'gguf',
    names: () => file.tensors.map((t) => t.name),
    shape: (n) => {
      const t = file.tensorsByName.get(n);
      return t ? [...t.dims].reverse() : undefined;
    },
    type: (n) => file.tensorsByName.get(n)!.type,
    readRows: (n, r0, rows, K) => {
      const t = file.tensorsByName.get(n)!;
      const rb = ggmlRowBytes(t.type, K);
      return src.read(t.offset + r0 * rb, rows * rb, `tensor '${n}' rows ${r0}..${r0 + rows}`);
    },
    readRowsInto:
      typeof (src as Partial<ByteSourceReadInto>).readInto === 'function'
        ? (n, r0, rows, K, target) => {
            const t = file.tensorsByName.get(n)!;
            const rb = ggmlRowBytes(t.type, K);
            return (src as ByteSourceReadInto).readInto(t.offset + r0 * rb, target.subarray(0, rows * rb), `tensor '${n}' rows ${r0}..${r0 + rows}`);
          }
        : undefined,
  };
}

const SAFETENSORS_TO_GGML: Record<string, number> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

function hfTensors(folder: HfFolder): RawTensors {
  let cached: { name: string; bytes: Uint8Array } | null = null;
  return {
    name: folder.name,
    naming: 'hf',
    names: () => folder.tensorNames(),
    shape: (n) => (folder.has(n) ? folder.info(n).shape : undefined),
    type: (n) => {
      const dt = folder.info(n).dtype;
      const t = SAFETENSORS_TO_GGML[dt];
      if (t === undefined) throw new TensorError(folder.name, n, `has dtype ${dt}; the engine reads F32, F16 and BF16 safetensors`);
      return t;
    },
    readRows: async (n, r0, rows, K) => {
      if (cached?.name !== n) cached = { name: n, bytes: await folder.readRaw(n) };
      const eb = ggmlRowBytes(SAFETENSORS_TO_GGML[folder.info(n).dtype], K);
      return cached.bytes.subarray(r0 * eb, (r0 + rows) * eb);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_CONTEXT = 4096;
const DEFAULT_CHUNK = 64;
/** Logit rows per forward call are capped so the logits buffer stays near this size. */
const LOGITS_BUDGET = 4 << 20;
/** Load staging target: rows are read and converted this many bytes (of f32) at a time. */
const STAGING_BYTES = 4 << 20;

/** Loads a model into a new in-thread WASM core. Takes ownership of the byte source (closed after load). */
export async function createWasmCore(input: ModelInput, opts: WasmEngineOptions = {}): Promise<WasmCore> {
  // --- open the model: config, dims and a raw tensor reader
  let config: Lfm2Config;
  let tensors: RawTensors;
  let close: () => Promise<void>;
  if ('gguf' in input) {
    const src = input.gguf;
    try {
      const file = input.header ?? (await readGguf(src));
      config = configFromGguf((k) => ggufGet(file, k), src.name, file.tensorsByName.get('token_embd.weight')?.dims[1]);
      tensors = ggufTensors(file, src);
    } catch (e) {
      await src.close?.();
      throw e;
    }
    close = async () => src.close?.();
  } else {
    const folder = await openHfFolder(input.hf);
    try {
      config = configFromHf(folder.config, `${folder.name}/config.json`);
      tensors = hfTensors(folder);
    } catch (e) {
      await folder.close();
      throw e;
    }
    close = () => folder.close();
  }
  try {
    return await build(config, tensors, opts);
  } finally {
    await close();
  }
}

async function build(config: Lfm2Config, src: RawTensors, opts: WasmEngineOptions): Promise<WasmCore> {
  const dims = deriveDims(config);
  const { D, H, K, hd, F, V, Lc, nLayers } = dims;
  const capacity = Math.min(dims.maxPositions, Math.max(1, Math.floor(opts.contextLength ?? DEFAULT_CONTEXT)));
  const Tmax = Math.max(1, Math.floor(opts.prefillChunk ?? DEFAULT_CHUNK));
  const logitRows = Math.max(1, Math.min(Tmax, Math.floor(LOGITS_BUDGET / (4 * V))));
  const mode = opts.weights ?? 'auto';

  let tapFn: TapFn | null = null;
  const inst = instantiateEngineModule({
    simd: opts.simd,
    tap: (id, p, rows, cols) => tapFn?.(tapName(id), arena.f32(p, rows * cols).slice(), [rows, cols]),
  });
  const { exports: wasm, arena } = inst;

  // --- names and shapes: every tensor the config implies, with its exact shape; nothing else (the oracle's checks)
  const tensors = tensorResolver(src, dims);
  const resolve = (e: TensorNameEntry, layer: number | null): { name: string; shape: number[] } => {
    const r = tensors.resolve(e, layer);
    const t = src.type(r.name);
    if (!GGML_TYPES.get(t)?.supported) throw new TensorError(src.name, r.name, `has type ${ggmlTypeName(t)}, which the engine cannot read`);
    return r;
  };
  const layerEntry = (hf: string) => LAYER_TENSORS.find((e) => e.hf === hf)!;

  /** The layout a matrix runs in. */
  const layoutOf = (name: string, Kin: number): WeightCode => {
    const t = src.type(name);
    if (mode === 'f32' || Kin % 32 !== 0) return WeightCode.F32;
    if (t === GgmlType.Q4_0) return WeightCode.Q4_0_X4;
    if (t === GgmlType.Q8_0) return WeightCode.Q8_0_X4;
    return mode === 'q4_0' ? WeightCode.Q4_0_X4 : WeightCode.Q8_0_X4;
  };

  // --- plan: resolve every tensor first (fail fast), then allocate
  interface Mat { name: string; R: number; K: number; code: WeightCode; ptr: number }
  const mats: Mat[] = [];
  const mat = (e: TensorNameEntry, layer: number | null): Mat => {
    const { name, shape } = resolve(e, layer);
    const m = { name, R: shape[0], K: shape[1], code: layoutOf(name, shape[1]), ptr: 0 };
    mats.push(m);
    return m;
  };
  interface Vec { name: string; n: number; ptr: number; transposeLc?: boolean }
  const vecs: Vec[] = [];
  const vec = (e: TensorNameEntry, layer: number | null, transposeLc = false): Vec => {
    const { name, shape } = resolve(e, layer);
    const v = { name, n: shape.reduce((a, b) => a * b, 1), ptr: 0, transposeLc };
    vecs.push(v);
    return v;
  };

  const embed = mat(GLOBAL_TENSORS[0], null);
  const finalNorm = vec(GLOBAL_TENSORS[1], null);
  const head = tensors.has(LM_HEAD, null) ? mat(LM_HEAD, null) : embed;
  const layers = dims.layerTypes.map((kind, l) => {
    const get = (hf: string) => mat(layerEntry(hf), l);
    const norm = (hf: string, tr = false) => vec(layerEntry(hf), l, tr);
    const common = { opNorm: norm('operator_norm.weight'), ffnNorm: norm('ffn_norm.weight'), w1: get('feed_forward.w1.weight'), w3: get('feed_forward.w3.weight'), w2: get('feed_forward.w2.weight') };
    if (kind === 'conv') return { kind, ...common, inProj: get('conv.in_proj.weight'), conv: norm('conv.conv.weight', true), outProj: get('conv.out_proj.weight') };
    return {
      kind, ...common,
      q: get('self_attn.q_proj.weight'), k: get('self_attn.k_proj.weight'), v: get('self_attn.v_proj.weight'), o: get('self_attn.out_proj.weight'),
      qn: norm('self_attn.q_layernorm.weight'), kn: norm('self_attn.k_layernorm.weight'),
    };
  });
  tensors.checkNoneLeft();

  // --- allocate: descriptor, small buffers, state, scratch (also the load staging area), weights, KV caches last
  const desc = arena.alloc((M.LAYERS + nLayers * M.LAYER_WORDS) * 4);
  const tokensBuf = arena.alloc(Tmax * 4);
  const ropeBuf = arena.alloc(Tmax * hd * 4);
  const convStates = dims.layerTypes.map((t) => (t === 'conv' ? arena.alloc((Lc - 1) * D * 4) : 0));
  const Kmax = Math.max(D, F, H * hd);
  const scratchSizes = {
    h: Tmax * D * 4, xb: Tmax * D * 4, ob: Tmax * D * 4, bcx: Tmax * 3 * D * 4, bx: (Lc - 1 + Tmax) * D * 4,
    q: Tmax * H * hd * 4, k: Tmax * K * hd * 4, v: Tmax * K * hd * 4, attn: Tmax * H * hd * 4, gate: Tmax * F * 4, up: Tmax * F * 4,
    act: Tmax * wasm.actRowBytes(Math.ceil(Kmax / 32) * 32), scores: capacity * 4, logits: logitRows * Math.ceil(V / 4) * 4 * 4,
    convOut: Tmax * D * 4, convY: Tmax * D * 4,
  };
  const scratchStart = arena.mark();
  const scratch: Record<string, number> = {};
  for (const [k, n] of Object.entries(scratchSizes)) scratch[k] = arena.alloc(n);
  const stagingBytes = Math.max(arena.mark() - scratchStart, STAGING_BYTES);
  const staging = scratch.h;
  arena.alloc(scratchStart + stagingBytes - arena.mark()); // the staging area may extend past the scratch buffers

  let weightTotal = 0;
  for (const m of mats) {
    if (m.ptr) continue;
    const n = weightBytes(m.code, m.R, m.K);
    m.ptr = arena.alloc(n);
    weightTotal += n;
  }
  for (const v of vecs) {
    v.ptr = arena.alloc(v.n * 4);
    weightTotal += v.n * 4;
  }
  const kvRowBytes = K * hd * 4;
  const kv = dims.layerTypes.map((t) => (t === 'conv' ? null : { k: arena.alloc(capacity * kvRowBytes), v: arena.alloc(capacity * kvRowBytes) }));

  // --- stream the weights in
  const layouts = new Map<string, string>();
  const codeName = (c: WeightCode) => (c === WeightCode.F32 ? 'F32' : c === WeightCode.Q4_0_X4 ? 'Q4_0' : 'Q8_0');
  for (const m of mats) {
    if (layouts.has(m.name)) continue;
    const t = src.type(m.name);
    layouts.set(m.name, `${ggmlTypeName(t)} -> ${codeName(m.code)}`);
    await loadMatrix(wasm, arena, src, m.name, t, m.R, m.K, m.code, m.ptr, staging, stagingBytes);
  }
  for (const v of vecs) {
    const t = src.type(v.name);
    const raw = await src.readRows(v.name, 0, 1, v.n);
    checkFinite(t, raw, src.name, v.name); // i7-fuzz (issue 7): NaN / Inf weights are a TensorError at load
    const x = dequantize(t, raw, v.n);
    if (v.transposeLc) {
      // (D, Lc) -> (Lc, D): tap k of every channel contiguous, for the SIMD conv
      const out = arena.f32(v.ptr, v.n);
      for (let ch = 0; ch < D; ch++) for (let k = 0; k < Lc; k++) out[k * D + ch] = x[ch * Lc + k];
    } else arena.f32(v.ptr, v.n).set(x);
  }

  // --- the descriptor
  const words = arena.i32(desc, M.LAYERS + nLayers * M.LAYER_WORDS);
  const wf = new Float32Array(words.buffer, words.byteOffset, words.length);
  Object.assign(words, { [M.D]: D, [M.H]: H, [M.K]: K, [M.HD]: hd, [M.F]: F, [M.V]: V, [M.LC]: Lc, [M.NLAYERS]: nLayers });
  wf[M.EPS] = dims.eps;
  words[M.CAPACITY] = capacity;
  words[M.POS] = 0;
  words[M.TMAX] = Tmax;
  words[M.EMBED] = embed.ptr;
  words[M.EMBED_T] = embed.code;
  words[M.HEAD] = head.ptr;
  words[M.HEAD_T] = head.code;
  words[M.FINAL_NORM] = finalNorm.ptr;
  words[M.ROPE] = ropeBuf;
  const s = scratch;
  [words[M.H_BUF], words[M.XB], words[M.OB], words[M.BCX], words[M.BX], words[M.Q], words[M.KB], words[M.VB], words[M.ATTN]] = [s.h, s.xb, s.ob, s.bcx, s.bx, s.q, s.k, s.v, s.attn];
  [words[M.GATE], words[M.UP], words[M.ACT], words[M.SCORES], words[M.LOGITS], words[M.CONV_OUT], words[M.CONV_Y]] = [s.gate, s.up, s.act, s.scores, s.logits, s.convOut, s.convY];
  layers.forEach((lw, l) => {
    const o = M.LAYERS + l * M.LAYER_WORDS;
    const set = (i: number, v: number) => (words[o + i] = v);
    set(L.KIND, lw.kind === 'conv' ? 0 : 1);
    set(L.OP_NORM, lw.opNorm.ptr);
    set(L.FFN_NORM, lw.ffnNorm.ptr);
    set(L.W1, lw.w1.ptr), set(L.W1_T, lw.w1.code), set(L.W3, lw.w3.ptr), set(L.W3_T, lw.w3.code), set(L.W2, lw.w2.ptr), set(L.W2_T, lw.w2.code);
    if ('inProj' in lw) {
      set(L.IN, lw.inProj.ptr), set(L.IN_T, lw.inProj.code), set(L.CONV, lw.conv.ptr), set(L.OUT, lw.outProj.ptr), set(L.OUT_T, lw.outProj.code);
      set(L.STATE, convStates[l]);
    } else {
      set(L.QP, lw.q.ptr), set(L.QP_T, lw.q.code), set(L.KP, lw.k.ptr), set(L.KP_T, lw.k.code), set(L.VP, lw.v.ptr), set(L.VP_T, lw.v.code);
      set(L.OP, lw.o.ptr), set(L.OP_T, lw.o.code), set(L.QN, lw.qn.ptr), set(L.KN, lw.kn.ptr), set(L.KC, kv[l]!.k), set(L.VC, kv[l]!.v);
    }
  });

  // --- the engine
  const owner = {};
  let disposed = false;
  const live = () => {
    if (disposed) throw new InputError('engine: used after dispose()');
  };
  const pos = () => arena.i32(desc, M.LAYERS)[M.POS];
  const setPos = (p: number) => (arena.i32(desc, M.LAYERS)[M.POS] = p);
  const convLen = (Lc - 1) * D;

  const check = (tokens: readonly number[]) => {
    if (tokens.length < 1) throw new InputError('forward: no tokens given');
    tokens.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new InputError(`forward: token id ${id} at index ${t} is outside the vocabulary 0..${V - 1}`);
    });
    if (pos() + tokens.length > capacity) {
      throw new InputError(`forward: ${pos() + tokens.length} positions exceed the engine's context of ${capacity}${capacity < dims.maxPositions ? ` (contextLength option; the model allows ${dims.maxPositions})` : ''}`);
    }
  };

  const reused = opts.reuseLogits ? new Float32Array(V) : null;
  const run = (tokens: readonly number[], o: WasmForwardOptions = {}): Float32Array => {
    live();
    check(tokens);
    const all = !!o.allLogits;
    const out = !all && reused ? reused : new Float32Array((all ? tokens.length : 1) * V);
    const step = all ? logitRows : Tmax;
    tapFn = o.tap ?? null;
    arena.i32(desc, M.LAYERS)[M.TAPS] = tapFn ? 1 : 0;
    try {
      for (let at = 0; at < tokens.length; at += step) {
        const n = Math.min(step, tokens.length - at);
        const p0 = pos();
        arena.i32(tokensBuf, n).set(tokens.slice(at, at + n));
        const cs = arena.f32(ropeBuf, n * hd);
        const half = hd / 2;
        for (let t = 0; t < n; t++) {
          for (let i = 0; i < half; i++) {
            const angle = (p0 + t) * Math.pow(dims.ropeTheta, (-2 * i) / hd);
            cs[t * hd + i] = Math.cos(angle);
            cs[t * hd + half + i] = Math.sin(angle);
          }
        }
        wasm.forward(desc, tokensBuf, n, all ? 1 : 0);
        if (all) out.set(arena.f32(s.logits, n * V), at * V);
        else if (at + n === tokens.length) out.set(arena.f32(s.logits, V));
      }
    } finally {
      tapFn = null;
    }
    return out;
  };

  const engine: WasmCore = {
    kind: 'wasm',
    build: inst.build,
    relaxedRejected: inst.relaxedRejected,
    dims,
    vocabSize: V,
    contextLength: capacity,
    weightBytes: weightTotal,
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
    reset() {
      live();
      setPos(0);
      for (const p of convStates) if (p) arena.f32(p, convLen).fill(0);
    },
    save(): WasmSnapshot {
      live();
      const p = pos();
      const n = (p * kvRowBytes) / 4;
      return {
        position: p,
        owner,
        conv: convStates.filter((c) => c).map((c) => arena.f32(c, convLen).slice()),
        key: kv.filter((x) => x).map((x) => arena.f32(x!.k, n).slice()),
        value: kv.filter((x) => x).map((x) => arena.f32(x!.v, n).slice()),
      };
    },
    restore(snap) {
      live();
      const sn = snap as WasmSnapshot;
      if (sn.owner !== owner) throw new InputError('engine: snapshot belongs to another engine');
      convStates.filter((c) => c).forEach((c, i) => arena.f32(c, convLen).set(sn.conv[i]));
      kv.filter((x) => x).forEach((x, i) => {
        arena.f32(x!.k, sn.key[i].length).set(sn.key[i]);
        arena.f32(x!.v, sn.value[i].length).set(sn.value[i]);
      });
      setPos(sn.position);
    },
    dispose() {
      disposed = true;
    },
  };
  return engine;
}

/**
 * One matrix (R, K) of stored type t -> its layout at dst, `rows` at a time through the staging area:
 * Q4_0 / Q8_0 into the same x4 format are repacked as raw blocks; everything else is dequantized (reference
 * dequantizers) into f32 and then either copied (f32 layout) or quantized in WASM (ggml's reference quantizers).
 */
async function loadMatrix(
  wasm: WasmExports, arena: Arena, src: RawTensors, name: string, t: number, R: number, K: number, code: WeightCode, dst: number,
  staging: number, stagingBytes: number,
): Promise<void> {
  const rawRow = ggmlRowBytes(t, K);
  const native = (t === GgmlType.Q4_0 && code === WeightCode.Q4_0_X4) || (t === GgmlType.Q8_0 && code === WeightCode.Q8_0_X4);
  // staging holds: raw rows | f32 rows | GGML block rows (for the quantizers)
  const perRow = native ? rawRow : rawRow + K * 4 + (K / 32) * 34;
  const rows = Math.max(4, Math.floor(stagingBytes / perRow / 4) * 4);
  if (rows * perRow > stagingBytes && rows === 4) throw new TensorError(src.name, name, `rows of ${K} are too long for the load staging area`);
  const rawP = staging;
  const f32P = staging + Math.ceil((rows * rawRow) / 64) * 64;
  const tmpP = f32P + rows * K * 4;
  for (let r0 = 0; r0 < R; r0 += rows) {
    const n = Math.min(rows, R - r0);
    let bytes: Uint8Array;
    if (src.readRowsInto) {
      bytes = arena.u8(rawP, n * rawRow);
      await src.readRowsInto(name, r0, n, K, bytes);
    } else bytes = await src.readRows(name, r0, n, K);
    checkFinite(t, bytes, src.name, name, r0 * K); // i7-fuzz (issue 7): NaN / Inf weights are a TensorError at load
    if (native) {
      if (!src.readRowsInto) arena.u8(rawP, bytes.length).set(bytes);
      if (code === WeightCode.Q4_0_X4) wasm.repackQ4_0(dst, rawP, r0, n, K, R);
      else wasm.repackQ8_0(dst, rawP, r0, n, K, R);
    } else if (code === WeightCode.F32) {
      dequantize(t, bytes, n * K, arena.f32(dst + r0 * K * 4, n * K));
    } else {
      dequantize(t, bytes, n * K, arena.f32(f32P, n * K));
      if (code === WeightCode.Q4_0_X4) wasm.quantizeRowsQ4_0(dst, f32P, tmpP, r0, n, K, R);
      else wasm.quantizeRowsQ8_0(dst, f32P, tmpP, r0, n, K, R);
    }
  }
}
