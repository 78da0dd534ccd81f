// The host side of a worker engine: starts the workers, serves the model's bytes to the leading one while it
// loads, and turns Engine calls into messages. The caller's thread only orchestrates: it never runs a forward
// step, so it stays free to stream tokens, answer requests, react to signals and repaint.
//
// Threads: with a shared memory (Node, Deno, Bun; browsers when cross-origin isolated) there are `threads`
// workers, all running every step (thread-team.ts); without one, a single worker over its own memory.

import { InputError } from '../../../reference/errors.js';
import type { ByteSource } from '../../../reference/bytes.js';
import type { ModelInput } from '../../../reference/load.js';
import { buildBytes, chooseBuild } from '../wasm-builds.js';
import { checkTokens, type WasmEngineOptions, type WasmSnapshot } from '../wasm-core.js';
import type { WasmEngine } from '../wasm-engine.js';
import { createMemory, sharedMemoryAvailable } from '../wasm-module.js';
import type { ByteSourceReadInto } from '../wasm-tensors.js';
import { errorFromRecord, errorRecord, type CallMethod, type ForwardResult, type HostToWorker, type LoadedInfo, type WorkerToHost } from './protocol.js';
import { MAX_THREADS, type SpawnedWorker, type WorkerSpawner } from './spawn.js';
import { stopTeam } from './thread-team.js';
import { WORKER_SOURCE } from './worker-source.generated.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;


/** Reads [offset, offset+length) of a source into `target`, in place when the source can. */
async function readInto(src: ByteSource, offset: number, target: Uint8Array, what?: string): Promise<void> {
  const into = (src as Partial<ByteSourceReadInto>).readInto;
  if (into) await into.call(src, offset, target, what);
  else target.set(await src.read(offset, target.length, what));
}

export async function startWorkerEngine(input: ModelInput, opts: WasmEngineOptions, spawner: WorkerSpawner): Promise<WasmEngine> {
  const { build, relaxedRejected } = chooseBuild(opts.simd);
  const shared = sharedMemoryAvailable();
  const wanted = Math.max(1, Math.min(MAX_THREADS, Math.floor(opts.threads ?? spawner.defaultThreads())));
  const threads = shared ? wanted : 1;
  const memory = shared ? createMemory(true) : null;
  const bytes = buildBytes(build, shared);
  const why = !shared && wanted > 1 ? ' (threads need a shared memory: in browsers, a cross-origin isolated page)' : '';
  const description = `wasm ${build}, ${threads} thread${threads > 1 ? 's' : ''} (${spawner.kind}${shared ? ', shared memory' : ''})${why}`;

  // --- the workers
  const workers: SpawnedWorker[] = [];
  let broken: Error | null = null;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let disposed = false;
  const fail = (e: Error) => {
    if (broken || disposed) return; // (after dispose, a worker ending is expected)
    broken = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    if (memory) stopTeam(memory);
    for (const w of workers) w.terminate();
  };
  for (let i = 0; i < threads; i++) {
    const w = spawner.spawn(WORKER_SOURCE, i === 0 ? 'lfm-engine' : `lfm-engine-${i}`);
    workers.push(w);
    w.onError((e) => fail(e));
    w.setKeepAlive(false);
  }
  const leader = workers[0];
  for (let i = 1; i < threads; i++) {
    workers[i].onMessage((m) => {
      if (m.type === 'fatal') fail(errorFromRecord(m.error));
    });
  }
  /**
   * The other threads get the memory only once the leader has loaded the model: the memory never grows after
   * that. (A worker that receives a shared memory while another thread grows it may keep the old size: V8 tells
   * the threads that share a memory about a growth, and one that is still attaching can miss it, then trap
   * "memory access out of bounds" on the first step. Seen under heavy load on Node 20.)
   */
  const startHelpers = () => {
    for (let i = 1; i < threads; i++) workers[i].post({ type: 'helper', bytes, build, memory: memory!, ith: i, nth: threads });
  };

  // --- the model's bytes, served to the leader while it loads (handle 0: the GGUF; others: files of a folder)
  const handles = new Map<number, ByteSource>();
  let nextHandle = 1;
  if ('gguf' in input) handles.set(0, input.gguf);
  const serveIo = async (m: Extract<WorkerToHost, { type: 'io' }>): Promise<{ msg: HostToWorker; transfer: Transferable[] }> => {
    try {
      if (m.op === 'open') {
        const src = 'hf' in input ? await input.hf.open(m.file!) : null;
        if (!src) return { msg: { type: 'io-result', id: m.id, handle: -1 }, transfer: [] };
        const h = nextHandle++;
        handles.set(h, src);
        return { msg: { type: 'io-result', id: m.id, handle: h, size: src.size }, transfer: [] };
      }
      const src = handles.get(m.handle);
      if (!src) throw new InputError(`engine worker: no open file ${m.handle}`);
      if (m.op === 'close') {
        handles.delete(m.handle);
        await src.close?.();
        return { msg: { type: 'io-result', id: m.id }, transfer: [] };
      }
      if (m.op === 'readInto') {
        await readInto(src, m.offset!, new Uint8Array(memory!.buffer, m.ptr!, m.length!), m.what);
        return { msg: { type: 'io-result', id: m.id }, transfer: [] };
      }
      // a copy we own, to transfer: the source's own buffer may be a view of bytes its caller still uses
      const copy = (await src.read(m.offset!, m.length!, m.what)).slice();
      return { msg: { type: 'io-result', id: m.id, bytes: copy }, transfer: [copy.buffer] };
    } catch (e) {
      return { msg: { type: 'io-result', id: m.id, error: errorRecord(e) }, transfer: [] };
    }
  };
  const closeAll = async () => {
    for (const [h, src] of handles) {
      handles.delete(h);
      await src.close?.();
    }
  };

  leader.onMessage((m) => {
    if (m.type === 'io') {
      serveIo(m).then(({ msg, transfer }) => {
        if (!broken) leader.post(msg, transfer);
      });
    } else if (m.type === 'result') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (pending.size === 0) leader.setKeepAlive(false);
      if (m.error) p?.reject(errorFromRecord(m.error));
      else p?.resolve(m.value);
    } else if (m.type === 'fatal') fail(errorFromRecord(m.error));
  });

  const send = <T>(msg: WithoutId<Extract<HostToWorker, { type: 'load' | 'call' }>>, transfer: Transferable[] = []): Promise<T> => {
    if (broken) return Promise.reject(broken);
    const id = nextId++;
    leader.setKeepAlive(true);
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      leader.post({ ...msg, id } as HostToWorker, transfer);
    });
  };
  const call = <T>(method: CallMethod, ...args: unknown[]) => send<T>({ type: 'call', method, args });

  // --- load
  const inputDesc = 'gguf' in input ? { kind: 'gguf' as const, name: input.gguf.name, size: input.gguf.size } : { kind: 'hf' as const, name: input.hf.name };
  // (reuseLogits stays here: the host reads the logits from the shared memory into its own array)
  const { threads: _t, simd: _s, reuseLogits: _r, ...options } = opts;
  let info: LoadedInfo;
  try {
    info = await send<LoadedInfo>({ type: 'load', bytes, build, relaxedRejected, memory, threads, options, input: inputDesc });
  } catch (e) {
    fail(e as Error);
    throw e;
  } finally {
    await closeAll();
  }
  startHelpers();

  // --- the engine
  let position = 0;
  let memoryBytes = info.memoryBytes;
  const chunk = Math.max(1, Math.floor(opts.prefillChunk ?? 64));
  const V = info.vocabSize;
  const reused = opts.reuseLogits ? new Float32Array(V) : null;
  const forward = async (tokens: readonly number[], o: { allLogits?: boolean; tap?: (name: string, data: Float32Array, shape: number[]) => void } = {}) => {
    const r = await call<ForwardResult>('forward', [...tokens], !!o.allLogits, !!o.tap);
    position = r.position;
    memoryBytes = r.memoryBytes;
    for (const [n, d, s] of r.taps ?? []) o.tap!(n, d, s);
    if (r.logits) return r.logits;
    // read in place from the shared memory (valid until the next step): into the reused array, or a copy
    const row = new Float32Array(memory!.buffer, r.logitsPtr!, V);
    return reused ? (reused.set(row), reused) : row.slice();
  };
  const engine: WasmEngine = {
    kind: 'wasm',
    build: info.build,
    relaxedRejected,
    threads: info.threads,
    description,
    dims: info.dims,
    vocabSize: info.vocabSize,
    contextLength: info.contextLength,
    kvCache: info.kvCache,
    weightBytes: info.weightBytes,
    get memoryBytes() {
      return memoryBytes;
    },
    weightLayouts: new Map(info.layouts),
    get position() {
      return disposed ? 0 : position;
    },
    forward,
    async prefill(tokens, o = {}) {
      if (broken) throw broken;
      checkTokens(tokens, position, info.vocabSize, info.contextLength, info.dims.maxPositions); // all, before any chunk
      let logits!: Float32Array;
      for (let at = 0; at < tokens.length; at += chunk) {
        o.signal?.throwIfAborted();
        logits = await forward(tokens.slice(at, at + chunk));
      }
      return logits;
    },
    decode: (token) => forward([token]),
    reset: async () => void (position = await call<number>('reset')),
    save: () => call<WasmSnapshot>('save'),
    restore: async (s) => void (position = await call<number>('restore', s)),
    async dispose() {
      if (disposed) return;
      const wasBroken = broken;
      disposed = true;
      try {
        if (!wasBroken) await call('dispose');
      } catch {
        // a broken engine is being thrown away anyway
      }
      if (memory) stopTeam(memory);
      for (const w of workers) w.terminate();
      broken = new InputError('engine: used after dispose()');
    },
  };
  return engine;
}
