// What runs inside an engine worker. One worker leads: it loads the model into the WASM memory (reading the
// model's bytes from the host through io messages) and answers the host's calls with the core (wasm-core.ts);
// the others are helpers that join each forward step over the shared memory (thread-team.ts).
//
// Bundled into one self-contained script at build time (build/build-wasm.ts -> worker-source.generated.ts) so a
// worker can be started from a string in every runtime and from any bundle, with no bundler configuration. The
// runtime adapter supplies the port (Web Worker `self`, or Node's parentPort) and calls lfmWorkerMain(port).

import type { ByteSource, FileSet } from '../../../reference/bytes.js';
import type { ModelInput } from '../../../reference/load.js';
import { createWasmCore, type WasmCore } from '../wasm-core.js';
import { createMemory, CTL_ADDRESS, instantiateModule, WasmUnavailableError } from '../wasm-module.js';
import type { ByteSourceReadInto } from '../wasm-tensors.js';
import { errorFromRecord, errorRecord, type CallMsg, type ForwardResult, type HostToWorker, type IoMsg, type LoadedInfo, type LoadMsg, type WorkerToHost } from './protocol.js';
import { helperLoop, leaderTeam } from './thread-team.js';

/** The worker's end of its message channel (the adapter maps it onto `self` or Node's parentPort). */
export interface WorkerPort {
  post(msg: WorkerToHost, transfer?: Transferable[]): void;
  onMessage(handler: (msg: HostToWorker) => void): void;
  /** Ends the worker (after dispose, or when a helper leaves its loop). */
  close(): void;
}

export function lfmWorkerMain(port: WorkerPort): void {
  let core: WasmCore | null = null;
  let memory: WebAssembly.Memory | null = null;
  /** Whether the memory is shared with the host (it can read logits in place). */
  let shared = false;
  let nextIo = 1;
  const pendingIo = new Map<number, { resolve: (m: Extract<HostToWorker, { type: 'io-result' }>) => void; reject: (e: Error) => void }>();

  const io = (req: Omit<IoMsg, 'type' | 'id'>) =>
    new Promise<Extract<HostToWorker, { type: 'io-result' }>>((resolve, reject) => {
      const id = nextIo++;
      pendingIo.set(id, { resolve, reject });
      port.post({ type: 'io', id, ...req });
    }).then((r) => {
      if (r.error) throw errorFromRecord(r.error);
      return r;
    });

  /** A ByteSource on the host, read through io messages; into shared memory without a copy through the message. */
  const remoteSource = (handle: number, name: string, size: number): ByteSourceReadInto => ({
    name,
    size,
    read: async (offset, length, what) => (await io({ op: 'read', handle, offset, length, what })).bytes!,
    readInto: async (offset, target, what) => {
      if (memory && target.buffer === memory.buffer && typeof SharedArrayBuffer !== 'undefined' && target.buffer instanceof SharedArrayBuffer) {
        await io({ op: 'readInto', handle, offset, length: target.length, ptr: target.byteOffset, what });
      } else target.set((await io({ op: 'read', handle, offset, length: target.length, what })).bytes!);
    },
    close: async () => void (await io({ op: 'close', handle })),
  });

  const remoteFiles = (name: string): FileSet => ({
    name,
    async open(file) {
      const r = await io({ op: 'open', handle: -1, file });
      return r.handle! < 0 ? null : remoteSource(r.handle!, `${name}/${file}`, r.size!);
    },
  });

  async function load(m: LoadMsg): Promise<LoadedInfo> {
    const module = new WebAssembly.Module(m.bytes as BufferSource);
    memory = m.memory ?? createMemory(false);
    shared = m.memory !== null;
    const instance = instantiateModule(module, m.build, memory);
    instance.relaxedRejected = m.relaxedRejected;
    const input: ModelInput = m.input.kind === 'gguf' ? { gguf: remoteSource(0, m.input.name, m.input.size) } : { hf: remoteFiles(m.input.name) };
    const threads = m.memory && m.threads > 1 ? leaderTeam(m.memory, m.threads) : undefined;
    core = await createWasmCore(input, m.options, { instance, threads });
    return {
      build: core.build, threads: core.threads, dims: core.dims, vocabSize: core.vocabSize, contextLength: core.contextLength, kvCache: core.kvCache,
      weightBytes: core.weightBytes, memoryBytes: core.memoryBytes, layouts: [...core.weightLayouts],
    };
  }

  function call(c: CallMsg): { value: unknown; transfer: Transferable[] } {
    if (!core) throw new WasmUnavailableError('engine worker: no model loaded');
    switch (c.method) {
      case 'forward': {
        const [tokens, allLogits, wantTaps] = c.args as [number[], boolean, boolean];
        if (!allLogits && !wantTaps && shared) {
          // the host reads the row from the shared memory itself: no copy, no garbage here
          const r: ForwardResult = { logitsPtr: core.feedInPlace(tokens), position: core.position, memoryBytes: core.memoryBytes };
          return { value: r, transfer: [] };
        }
        const taps: [string, Float32Array, number[]][] = [];
        const logits = core.forward(tokens, { allLogits, tap: wantTaps ? (n, d, s) => taps.push([n, d, s]) : undefined });
        const r: ForwardResult = { logits, position: core.position, memoryBytes: core.memoryBytes, taps: wantTaps ? taps : undefined };
        return { value: r, transfer: [logits.buffer, ...taps.map((t) => t[1].buffer)] };
      }
      case 'reset':
        core.reset();
        return { value: core.position, transfer: [] };
      case 'save': {
        const s = core.save();
        return { value: s, transfer: [] };
      }
      case 'restore':
        core.restore(c.args[0] as ReturnType<WasmCore['save']>);
        return { value: core.position, transfer: [] };
      case 'dispose':
        core.dispose();
        return { value: undefined, transfer: [] };
    }
  }

  port.onMessage((msg) => {
    switch (msg.type) {
      case 'io-result': {
        const p = pendingIo.get(msg.id);
        pendingIo.delete(msg.id);
        p?.resolve(msg);
        return;
      }
      case 'helper': {
        try {
          const inst = instantiateModule(new WebAssembly.Module(msg.bytes as BufferSource), msg.build, msg.memory);
          port.post({ type: 'ready' });
          helperLoop(inst.exports, msg.memory, msg.ith, msg.nth);
        } catch (e) {
          const ctl = Array.from(new Int32Array(msg.memory.buffer, CTL_ADDRESS, 8));
          const where = `engine thread ${msg.ith} of ${msg.nth} (memory ${msg.memory.buffer.byteLength} bytes, control block ${ctl.join(' ')})`;
          const r = errorRecord(e);
          port.post({ type: 'fatal', error: { ...r, message: `${where}: ${r.message}` } });
        }
        port.close();
        return;
      }
      case 'load':
        load(msg).then(
          (value) => port.post({ type: 'result', id: msg.id, value }),
          (e) => port.post({ type: 'result', id: msg.id, error: errorRecord(e) }),
        );
        return;
      case 'call': {
        try {
          const { value, transfer } = call(msg);
          port.post({ type: 'result', id: msg.id, value }, transfer);
        } catch (e) {
          port.post({ type: 'result', id: msg.id, error: errorRecord(e) });
        }
        if (msg.method === 'dispose') port.close();
        return;
      }
    }
  });
}
