// Instantiating the WASM engine module: build selection (baseline SIMD128 or relaxed SIMD; shared memory for
// threads or not), the imported memory, and the one allocator that owns it.
//
// Build selection (WASM.md §2.3, §2.5): the relaxed build is used only when `WebAssembly.validate` accepts a
// 40-byte probe using the relaxed dot AND the real relaxed kernel passes a known-answer self-test on first use
// (Node 20's baseline compiler doubles the relaxed dot). Otherwise the baseline build runs; SIMD128 itself is
// required. The bytes come from a generated module (no fs / fetch in core code).
//
// Memory: imported, no data segments in the module, and one owner of allocation: `Arena`, a bump allocator on
// the loading thread that grows the memory. With threads the memory is shared and every worker instantiates the
// threaded build over it (the "-mt" builds import a shared memory); the kernels only ever take pointers.
//
// This file does not import the binaries (wasm-builds.ts does), so the worker bundle stays small: workers get
// the bytes of the chosen build from the host.

import { ConfigError, LfmError } from '../../reference/errors.js';

/** The module's exports (assembly/index.ts). Pointers are byte offsets into the memory; counts are i32. */
export interface WasmExports {
  forward(m: number, ith: number, nth: number): void;
  actRowBytes(K: number): number;
  quantizeAct(x: number, row: number, K: number): void;
  quantizeActScalar(x: number, row: number, K: number): void;
  quantizeActRows(x: number, act: number, K: number, T: number): void;
  quantizeActBlocks(x: number, row: number, K: number, b0: number, b1: number): void;
  repackQ4_0(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  repackQ8_0(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  quantizeRowsQ4_0(dst: number, x: number, tmp: number, r0: number, n: number, K: number, R: number): void;
  quantizeRowsQ8_0(dst: number, x: number, tmp: number, r0: number, n: number, K: number, R: number): void;
  dequantRowX4(w: number, type: number, r: number, K: number, y: number): void;
  matvecQ4_0(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecQ4_0Scalar(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmQ4_0(w: number, act: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
  matvecQ8_0(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecQ8_0Scalar(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmQ8_0(w: number, act: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
  matvecF32(w: number, x: number, y: number, R: number, K: number, r0: number, r1: number): void;
  matvecF32Scalar(w: number, x: number, y: number, R: number, K: number, r0: number, r1: number): void;
  gemmF32(w: number, x: number, y: number, R: number, K: number, T: number, r0: number, r1: number): void;
  rmsnorm(y: number, x: number, w: number, T: number, n: number, eps: number): void;
  rmsnormScalar(y: number, x: number, w: number, T: number, n: number, eps: number): void;
  rope(v: number, heads: number, hd: number, cs: number): void;
  ropeScalar(v: number, heads: number, hd: number, cs: number): void;
  siluMul(g: number, u: number, n: number): void;
  siluMulScalar(g: number, u: number, n: number): void;
  softmax(s: number, n: number): void;
  softmaxScalar(s: number, n: number): void;
  shortConv(bcx: number, kw: number, state: number, bx: number, out: number, y: number, T: number, D: number, Lc: number, c0: number, c1: number): void;
  shortConvScalar(bcx: number, kw: number, state: number, bx: number, out: number, y: number, T: number, D: number, Lc: number, c0: number, c1: number): void;
  attention(q: number, kc: number, vc: number, out: number, ml: number, work: number, T: number, pos0: number, H: number, K: number, hd: number, cap: number, f16: number, u0: number, u1: number): void;
  attentionScalar(q: number, kc: number, vc: number, out: number, ml: number, work: number, T: number, pos0: number, H: number, K: number, hd: number, cap: number, f16: number, u0: number, u1: number): void;
  attentionBlocks(q: number, kc: number, vc: number, parts: number, work: number, pos: number, H: number, K: number, hd: number, cap: number, f16: number, u0: number, u1: number): void;
  attentionBlocksScalar(q: number, kc: number, vc: number, parts: number, work: number, pos: number, H: number, K: number, hd: number, cap: number, f16: number, u0: number, u1: number): void;
  attentionMerge(parts: number, out: number, ml: number, H: number, hd: number, nb: number, h0: number, h1: number): void;
  attentionMergeScalar(parts: number, out: number, ml: number, H: number, hd: number, nb: number, h0: number, h1: number): void;
  attnWorkFloats(G: number, hd: number): number;
  kvWrite(k: number, v: number, kc: number, vc: number, pos0: number, K: number, hd: number, cap: number, f16: number, r0: number, r1: number): void;
  // K-quants (assembly/kquants.ts) and F16 / BF16 weights (assembly/f16w.ts); matmuls take a row-group range [g0, g1)
  actKRowBytes(K: number): number;
  quantizeActK(x: number, row: number, K: number): void;
  quantizeActKScalar(x: number, row: number, K: number): void;
  quantizeActKBlocks(x: number, row: number, K: number, b0: number, b1: number): void;
  quantizeActKRows(x: number, act: number, K: number, T: number): void;
  repackQ4_K(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  repackQ5_K(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  repackQ6_K(dst: number, src: number, r0: number, n: number, K: number, R: number): void;
  dequantRowK(w: number, type: number, r: number, K: number, y: number): void;
  matvecQ4_K(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecQ4_KScalar(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmQ4_K(w: number, act: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
  matvecQ5_K(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecQ5_KScalar(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmQ5_K(w: number, act: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
  matvecQ6_K(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecQ6_KScalar(w: number, act: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmQ6_K(w: number, act: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
  roundRowsF16(x: number, y: number, n: number): void;
  roundRowsF16Scaled(x: number, y: number, n: number): void;
  roundRowsBF16(x: number, y: number, n: number): void;
  dequantRowHalf(w: number, type: number, r: number, K: number, y: number): void;
  matvecF16(w: number, x: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecF16Scalar(w: number, x: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmF16(w: number, x: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
  matvecBF16(w: number, x: number, y: number, R: number, K: number, g0: number, g1: number): void;
  matvecBF16Scalar(w: number, x: number, y: number, R: number, K: number, g0: number, g1: number): void;
  gemmBF16(w: number, x: number, y: number, R: number, K: number, T: number, g0: number, g1: number): void;
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

/**
 * Why the WASM engine cannot run a model of these sizes, or null when it can: the SIMD kernels work on groups of
 * 4 floats, so a width that is not a multiple of 4 is refused (UnsupportedModelError), never miscomputed.
 */
export function wasmUnsupported(d: { D: number; hd: number; F: number }): { field: string; message: string } | null {
  const widths: [string, number][] = [['hidden_size', d.D], ['head_dim', d.hd], ['FFN width (block_ff_dim)', d.F]];
  for (const [field, n] of widths) {
    if (n % 4 !== 0) return { field, message: `is ${n}; the WASM engine needs widths that are multiples of 4 (the reference engine runs any width: engine 'reference')` };
  }
  return null;
}

/** The model is valid but the WASM engine cannot run it (the reference engine can). */
export class UnsupportedModelError extends ConfigError {
  constructor(source: string, field: string, message: string) {
    super(source, field, message);
    (this as { code: string }).code = 'E_UNSUPPORTED';
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

export const PAGE = 65536;
/** The arena starts above the first page, which stays unused (null pointers fault loudly into zeros). */
const ARENA_START = PAGE;
/** The threads' control block is the arena's first allocation, so every thread knows where it is. */
export const CTL_ADDRESS = ARENA_START;

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
  /**
   * Grows the memory so that the next `bytes` bytes (at `align`) are in it, without allocating them; false when
   * the memory cannot grow that far (the 4 GiB wasm32 limit, or the maximum a shared memory was created with).
   * Growing reserves address space only: pages become resident when first written.
   */
  reserve(bytes: number, align = 64): boolean {
    const end = Math.ceil(this.top / align) * align + Math.max(0, bytes);
    if (end > 0xffff0000) return false;
    const have = this.memory.buffer.byteLength;
    if (end <= have) return true;
    try {
      this.memory.grow(Math.ceil((end - have) / PAGE));
      return true;
    } catch {
      return false;
    }
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

/** An instance of a build over a memory, with the arena that allocates in it. */
export interface WasmInstance {
  build: WasmBuild;
  exports: WasmExports;
  arena: Arena;
  /** Why the relaxed build is not used (undefined when it is, or when baseline was asked for). */
  relaxedRejected?: string;
  /** Receives the module's tap calls (the core sets it; taps are only made when the descriptor enables them). */
  onTap?: TapHost;
}

export type TapHost = (id: number, ptr: number, rows: number, cols: number) => void;

/** Largest memory the engine asks for: wasm32's 4 GiB (pages are reserved, not resident, until used). */
export const MAX_PAGES = 65536;

/** Whether this runtime can create a shared WebAssembly.Memory (browsers: only when cross-origin isolated). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

/** A memory for the engine: shared (threads) or not. A shared one needs a maximum; the largest that the runtime grants. */
export function createMemory(shared: boolean): WebAssembly.Memory {
  if (!shared) return new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES });
  let err: unknown;
  for (const maximum of [MAX_PAGES, MAX_PAGES / 2, MAX_PAGES / 4]) {
    try {
      return new WebAssembly.Memory({ initial: 2, maximum, shared: true } as WebAssembly.MemoryDescriptor);
    } catch (e) {
      err = e; // some browsers refuse to reserve 4 GiB of shared address space
    }
  }
  throw new WasmUnavailableError(`cannot create a shared WebAssembly.Memory: ${(err as Error).message}`);
}

/** Instantiates a compiled build over `memory` (shared for the -mt builds). The arena starts empty. */
export function instantiateModule(module: WebAssembly.Module, build: WasmBuild, memory: WebAssembly.Memory): WasmInstance {
  const inst: WasmInstance = { build, exports: undefined as unknown as WasmExports, arena: new Arena(memory) };
  const tap: TapHost = (id, p, rows, cols) => inst.onTap?.(id, p, rows, cols);
  // the threads' sleep and wake-up (assembly/threads.ts: only threaded builds over a shared memory call them)
  const i32 = () => new Int32Array(memory.buffer);
  const wait = (p: number, expected: number) => void Atomics.wait(i32(), p >> 2, expected);
  const notify = (p: number, count: number) => void Atomics.notify(i32(), p >> 2, count);
  inst.exports = new WebAssembly.Instance(module, { env: { memory, tap, wait, notify } }).exports as unknown as WasmExports;
  return inst;
}
