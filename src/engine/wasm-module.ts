// Instantiating the WASM engine module: build selection (baseline SIMD128 or relaxed SIMD), the imported memory,
// and the one allocator that owns it.
//
// Build selection (WASM.md §2.3, §2.5): the relaxed build is used only when `WebAssembly.validate` accepts a
// 40-byte probe using the relaxed dot AND the real relaxed kernel passes a known-answer self-test on first use
// (Node 20's baseline compiler doubles the relaxed dot). Otherwise the baseline build runs; SIMD128 itself is
// required. The bytes come from a generated module (no fs / fetch in core code).
//
// Memory: imported, no data segments in the module, and one owner of allocation: `Arena`, a bump allocator on
// this side that grows the memory. A later worker pool can share the memory and instantiate the same module per
// worker; the kernels only ever take pointers.

import { LfmError } from '../../reference/errors.js';
import { WASM_RELAXED_BASE64, WASM_SIMD_BASE64 } from './wasm-binaries.generated.js';

/** The module's exports (assembly/index.ts). Pointers are byte offsets into the memory; counts are i32. */
export interface WasmExports {
  forward(m: number, tokens: number, T: number, allLogits: number): void;
  actRowBytes(K: number): number;
  quantizeAct(x: number, row: number, K: number): void;
  quantizeActScalar(x: number, row: number, K: number): void;
  quantizeActRows(x: number, act: number, K: number, T: number): void;
  repackQ4_0(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  repackQ8_0(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  quantizeRowsQ4_0(dst: number, x: number, tmp: number, r0: number, n: number, K: number, R: number): void;
  quantizeRowsQ8_0(dst: number, x: number, tmp: number, r0: number, n: number, K: number, R: number): void;
  dequantRowX4(w: number, type: number, r: number, K: number, y: number): void;
  matvecQ4_0(w: number, act: number, y: number, R: number, K: number): void;
  matvecQ4_0Scalar(w: number, act: number, y: number, R: number, K: number): void;
  gemmQ4_0(w: number, act: number, y: number, R: number, K: number, T: number): void;
  matvecQ8_0(w: number, act: number, y: number, R: number, K: number): void;
  matvecQ8_0Scalar(w: number, act: number, y: number, R: number, K: number): void;
  gemmQ8_0(w: number, act: number, y: number, R: number, K: number, T: number): void;
  matvecF32(w: number, x: number, y: number, R: number, K: number): void;
  matvecF32Scalar(w: number, x: number, y: number, R: number, K: number): void;
  gemmF32(w: number, x: number, y: number, R: number, K: number, T: number): void;
  rmsnorm(y: number, x: number, w: number, T: number, n: number, eps: number): void;
  rmsnormScalar(y: number, x: number, w: number, T: number, n: number, eps: number): void;
  rope(v: number, heads: number, hd: number, cs: number): void;
  ropeScalar(v: number, heads: number, hd: number, cs: number): void;
  siluMul(g: number, u: number, n: number): void;
  siluMulScalar(g: number, u: number, n: number): void;
  softmax(s: number, n: number): void;
  softmaxScalar(s: number, n: number): void;
  shortConv(bcx: number, kw: number, state: number, bx: number, out: number, y: number, T: number, D: number, Lc: number): void;
  shortConvScalar(bcx: number, kw: number, state: number, bx: number, out: number, y: number, T: number, D: number, Lc: number): void;
  attention(q: number, kc: number, vc: number, out: number, scores: number, T: number, pos0: number, H: number, K: number, hd: number): void;
  attentionScalar(q: number, kc: number, vc: number, out: number, scores: number, T: number, pos0: number, H: number, K: number, hd: number): void;
  expf(x: number): number;
  isRelaxed(): number;
  selfTest(scratch: number): number;
}

export type WasmBuild = 'baseline' | 'relaxed';

/** The engine cannot run here (no SIMD128), or a requested build is unavailable. */
export class WasmUnavailableError extends LfmError {
  constructor(message: string) {
    super('E_WASM', message);
  }
}

// Hand-assembled probes (WASM.md §2.5): () -> v128 pushing i8x16.splat(0) two or three times, then the opcode.
const PROBE_HEAD = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00];
function probe(operands: number, opcode: number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00]; // no locals
  for (let i = 0; i < operands; i++) body.push(0x41, 0x00, 0xfd, 0x0f); // i32.const 0; i8x16.splat
  body.push(...opcode, 0x0b);
  return new Uint8Array([...PROBE_HEAD, 0x0a, body.length + 2, 0x01, body.length, ...body]);
}
const SIMD_PROBE = probe(2, [0xfd, 0xba, 0x01]); // i32x4.dot_i16x8_s
const RELAXED_PROBE = probe(3, [0xfd, 0x93, 0x02]); // i32x4.relaxed_dot_i8x16_i7x16_add_s

export function simdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}
/**
 * Whether the engine can run here: SIMD128 validates AND this runtime lets code compile WebAssembly from bytes
 * (Cloudflare workerd, for one, forbids it: modules must be shipped as module imports there).
 */
export function wasmEngineUsable(): boolean {
  if (!simdSupported()) return false;
  try {
    new WebAssembly.Module(SIMD_PROBE);
    return true;
  } catch {
    return false;
  }
}

export function relaxedSimdValidates(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

function base64Bytes(b64: string): Uint8Array {
  if (typeof atob === 'function') {
    const s = atob(b64);
    const u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return u;
  }
  throw new WasmUnavailableError('no base64 decoder (atob) in this runtime');
}

const compiled = new Map<WasmBuild, WebAssembly.Module>();
function moduleFor(build: WasmBuild): WebAssembly.Module {
  let m = compiled.get(build);
  if (!m) {
    m = new WebAssembly.Module(base64Bytes(build === 'relaxed' ? WASM_RELAXED_BASE64 : WASM_SIMD_BASE64) as BufferSource);
    compiled.set(build, m);
  }
  return m;
}

export const PAGE = 65536;
/** The arena starts above the first page, which stays unused (null pointers fault loudly into zeros). */
const ARENA_START = PAGE;

/** A bump allocator over a WebAssembly.Memory: the one owner of allocation. `mark`/`release` free in LIFO order. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  private top = ARENA_START;
  private peak = ARENA_START;
  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
  }
  /** `bytes` bytes aligned to `align` (default 64, a cache line); grows the memory as needed. */
  alloc(bytes: number, align = 64): number {
    const p = Math.ceil(this.top / align) * align;
    const end = p + Math.max(0, bytes);
    if (end > 0xffff0000) throw new WasmUnavailableError(`out of WASM memory: ${end} bytes would exceed the 4 GiB wasm32 limit`);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    this.peak = Math.max(this.peak, end);
    return p;
  }
  mark(): number {
    return this.top;
  }
  release(mark: number): void {
    this.top = mark;
  }
  /** Bytes handed out (high-water mark), the first page excluded. */
  get used(): number {
    return this.peak - ARENA_START;
  }
  u8(p: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, p, n);
  }
  f32(p: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, p, n);
  }
  i32(p: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, p, n);
  }
}

export interface WasmInstance {
  build: WasmBuild;
  exports: WasmExports;
  arena: Arena;
  /** Why the relaxed build was not chosen (undefined when it was, or when baseline was asked for). */
  relaxedRejected?: string;
}

export type TapHost = (id: number, ptr: number, rows: number, cols: number) => void;

export interface InstantiateOptions {
  /** 'auto' (default): relaxed when it validates and passes the self-test, else baseline. */
  simd?: 'auto' | WasmBuild;
  /** Receives the module's tap calls (only made when the descriptor enables taps). */
  tap?: TapHost;
}

function instantiate(build: WasmBuild, tap: TapHost): { exports: WasmExports; arena: Arena } {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const instance = new WebAssembly.Instance(moduleFor(build), { env: { memory, tap } });
  return { exports: instance.exports as unknown as WasmExports, arena: new Arena(memory) };
}

/** Instantiates the best usable build with a fresh memory and arena. */
export function instantiateEngineModule(opts: InstantiateOptions = {}): WasmInstance {
  if (!simdSupported()) throw new WasmUnavailableError('this runtime has no WebAssembly SIMD128, which the engine requires');
  const want = opts.simd ?? 'auto';
  const tap: TapHost = opts.tap ?? (() => {});
  let relaxedRejected: string | undefined;
  if (want !== 'baseline') {
    if (!relaxedSimdValidates()) relaxedRejected = 'WebAssembly.validate rejects relaxed SIMD in this runtime';
    else {
      const r = instantiate('relaxed', tap);
      const scratch = r.arena.alloc(2048);
      if (r.exports.selfTest(scratch) === 1) return { build: 'relaxed', ...r };
      relaxedRejected = 'the relaxed-SIMD kernel failed its known-answer self-test (Node 20 Liftoff bug?)';
    }
    if (want === 'relaxed') throw new WasmUnavailableError(`relaxed SIMD build requested but unusable: ${relaxedRejected}`);
  }
  return { build: 'baseline', ...instantiate('baseline', tap), relaxedRejected };
}
