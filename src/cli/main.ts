// The `lfm` command line: dump a model's logits, write seeded random models, and a no-download demo.
//
//   lfm logits --model <file.gguf | hf-folder> --tokens 1,422,8 [--engine reference] --out logits.f32
//   lfm synth  --shape d96-gqa3 --type Q8_0 [--seed N] [--hf] --out model.gguf
//   lfm demo   (src/cli/demo.ts)
//
// `main(argv, io)` returns the exit code instead of exiting, so tests run it in-process; `bin/lfm.js` (built
// package) and `npm run lfm -- ...` (checkout, through tsx) are the two ways in from a shell.
//
// Exit codes: 0 success; 2 the command line itself is wrong (unknown command or flag, missing or malformed value:
// everything checked before any file is touched); 1 anything that goes wrong while running (model missing or
// corrupt, a token id the model does not have, output not writable). Every error is one line on stderr,
// `error: <message>`, never a stack trace (set LFM_DEBUG=1 to get one).
//
// Files are written atomically: into a hidden temp file beside the target, renamed over it only when complete, so
// a failure never leaves a partial logits file or model behind (it removes the temp file; a killed process may
// leave a `.<name>.<pid>.<hex>.tmp`, never a truncated file under the real name).
//
// What it deliberately is not (yet): a chat or generate command (needs the tokenizer and the engine).
// `--engine wasm` runs the WASM SIMD engine (src/engine/wasm-engine.ts). Only src/cli/ and src/node/ touch node: modules.

import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SYNTH_SHAPES } from '../synth/shapes.js';
import { cmdChat, cmdRun, cmdServe, RUN_OPTIONS_HELP } from './chat-commands.js';
import { cmdDemo, DEMO_USAGE } from './demo.js';
import { cmdWeb, WEB_USAGE } from './web.js';
import { parseFlags, required, RunError, UsageError, weightsFlag, type Flags, type FlagSpec, type WeightsFlag } from './flags.js';
import { DEFAULT_MODEL } from '../sources/spec.js';
import { LfmError } from '../../reference/errors.js';
import { ggmlTypeName } from '../../reference/ggml-type.js';
import { loadModel, type LoadedModel } from '../../reference/load.js';
import { forward, newState } from '../../reference/model.js';
import { createWasmEngine } from '../engine/wasm-engine.js';
import { directoryFileSet, fileSource } from '../node/files.js';
import { registerNodeWorkers } from '../node/worker-spawn.js';
import { SYNTH_FILE_TYPES, synthGguf, synthHfFolder, synthModel, type SynthFileType, type SynthSpec } from '../synth/random-model.js';
import { describeWeightLayouts } from '../engine/wasm-layout.js';

/** Where the CLI writes; tests pass collectors, the entry point passes process.stdout / process.stderr. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Exit codes (see the file comment). */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

// ---------------------------------------------------------------------------------------------------------------
// The synth shapes (src/synth/shapes.ts): the golden test shapes, the K-quant shape, the full LFM2.5-1.2B shape

function shapeNames(): string[] {
  return SYNTH_SHAPES.map((s) => s.name);
}

function shapeSpec(name: string): SynthSpec | undefined {
  return SYNTH_SHAPES.find((s) => s.name === name);
}

const GGUF_TYPES: readonly SynthFileType[] = SYNTH_FILE_TYPES;
const HF_TYPES = ['F32', 'F16', 'BF16'] as const;
type HfType = (typeof HF_TYPES)[number];

// ---------------------------------------------------------------------------------------------------------------
// Usage texts

const USAGE_TOP = `lfm: LFM2 / LFM2.5 models in pure TypeScript

usage: lfm <command> [flags]

commands:
  run      answer one prompt, streaming the reasoning (dimmed) and the answer
  chat     talk with the model, turn after turn (/reset clears, Ctrl-C stops an answer)
  serve    an OpenAI-compatible HTTP server (POST /v1/chat/completions, streaming or not)
  web      serve the chat page: the model runs in your browser (WebAssembly, Web Workers)
  logits   run a model over token ids and write the logits of every position (float32)
  synth    write a seeded random model (GGUF or HF folder) of a test shape or the full LFM2.5-1.2B shape
  demo     the whole pipeline on a seeded random model, offline: tokenizer, template, engine, streaming

flags:
  -h, --help      this text (or 'lfm <command> --help')
  --version       print the version

exit codes: 0 ok, 1 runtime error, 2 bad command line
`;

const USAGE: Record<string, string> = {
  web: WEB_USAGE,
  run: `usage: lfm run "<prompt>" [flags]

Answers one prompt. With no --model it uses ${DEFAULT_MODEL} from the Hugging Face hub (downloaded once
into the cache; HF_ENDPOINT and HF_TOKEN are honoured).

${RUN_OPTIONS_HELP}
`,
  serve: `usage: lfm serve [--model <spec>] [--context <n>] [--context-overflow drop-oldest] [--host 127.0.0.1] [--port 8080] [--cors <origin>] [-q]

Serves the model over HTTP with OpenAI's Chat Completions API: POST /v1/chat/completions (JSON, or server-sent
events with "stream": true), GET /v1/models, GET /health. Requests are served one at a time; a client that
disconnects stops its generation. Request bodies take the options of 'lfm run' by their API names (temperature,
top_k, top_p, min_p, repetition_penalty, seed, max_tokens, stop, reasoning_budget, tools, tool_choice, ...).

  -m, --model <spec>   as for 'lfm run' (default ${DEFAULT_MODEL})
  --context <n>        tokens of context (wasm engine; default: the model's own, as far as memory allows)
  --kv-cache <f16|f32> KV cache elements (wasm engine; default f16, half the memory of f32)
  --context-overflow <error|drop-oldest>
                       a conversation that outgrows the context: a 400 error (default), or drop its oldest
                       turns, keeping the system prompt and the latest turn (a request may set context_overflow)
  --host <addr>        interface to listen on (default 127.0.0.1)
  -p, --port <n>       port (default 8080; 0 picks a free one)
  --cors <origin>      let web pages from these origins call the server: '*' for any, or a comma-separated
                       list such as https://app.example,http://localhost:5173 (default: none)
  -q, --quiet          no request log
  --cache-dir <dir>    download cache
  --engine, --threads, --weights   as for 'lfm run' (--weights q8_0|q4_0|f32 converts the matrices at load)
`,
  chat: `usage: lfm chat [flags]

An interactive conversation. Each turn reuses the model state of the previous ones. Commands: /reset clears the
conversation, /exit quits. Ctrl-C stops the answer being written; Ctrl-C at the prompt twice quits.

${RUN_OPTIONS_HELP.split('\n').filter((l) => !l.includes('--json')).join('\n')}
`,
  logits: `usage: lfm logits --model <file.gguf | hf-folder> --tokens <ids> --out <file> [--engine wasm [--weights q8_0|q4_0|f32]]

Runs the model once over all tokens and writes little-endian float32 logits, T rows x V columns
(T = number of tokens, V = embedding rows); row i holds the next-token logits after tokens[0..i].

  --model <path>    a GGUF file, or an HF folder (config.json + model.safetensors or shards)
  --tokens <ids>    comma-separated token ids, e.g. 1,422,8
  --out <file>      where to write the logits (written atomically: no partial file on failure)
  --engine <name>   reference (the fp32 oracle, default) or wasm (the WASM SIMD engine)
  --weights <how>   wasm engine: q8_0, q4_0 or f32 converts every matrix to that at load (default auto: each at
                    its stored type); the load line says what ran as what
`,
  synth: `usage: lfm synth --shape <name> --type <type> --out <path> [--seed N] [--hf]

Writes a seeded random LFM2 model: the same shape, seed and type always give the same bytes.

  --shape <name>    ${shapeNames().join(', ')}
  --type <type>     GGUF: ${SYNTH_FILE_TYPES.join(', ')}; with --hf: F32, F16, BF16
                    (Q4_K_M, Q5_K_M, Q6_K: llama-quantize's per-tensor mix, quantized as ggml does; slow in JS:
                    about 12 CPU-minutes for the full-size shape)
  --seed <N>        integer 0..4294967295 (default: the shape's own seed)
  --hf              write an HF folder (config.json + model.safetensors) instead of a GGUF file
  --out <path>      the GGUF file, or the folder with --hf
`,
  demo: DEMO_USAGE,
};

/** "1,422,8" -> [1, 422, 8]. Whitespace around ids is allowed; empty items, signs, decimals and words are not. */
export function parseTokenIds(text: string): number[] {
  const bad = (why: string) => new UsageError('logits', `--tokens '${text}': ${why}`);
  if (text.trim() === '') throw bad('no token ids (give comma-separated ids, e.g. --tokens 1,422,8)');
  return text.split(',').map((item, i) => {
    const s = item.trim();
    if (s === '') throw bad(`item ${i + 1} is empty`);
    if (/^-\s*\d/.test(s)) throw bad(`token id ${s} is negative`);
    if (!/^\d+$/.test(s)) throw bad(`'${s}' (item ${i + 1}) is not a token id (a non-negative integer)`);
    const id = Number(s);
    if (!Number.isSafeInteger(id)) throw bad(`token id ${s} is too large`);
    return id;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Files: atomic writes and friendly fs messages

/** A one-line reason for a Node fs error (`ENOENT` -> "does not exist"), or its message. */
function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent is not a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EEXIST: 'a file is in the way',
  };
  return (code && reasons[code]) || (e instanceof Error ? e.message : String(e));
}

/**
 * A file written under a temp name in the target's folder and renamed over the target by `commit()`. Created
 * before the work starts, so an unwritable output fails fast; `abort()` (on any failure) removes the temp file.
 */
class AtomicFile {
  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private fh: FileHandle | null,
    public bytes = 0,
  ) {}

  static async create(path: string): Promise<AtomicFile> {
    const target = resolve(path);
    const st = await stat(target).catch(() => null);
    if (st?.isDirectory()) throw new RunError(`cannot write '${path}': it is a directory`);
    const dir = dirname(target);
    const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      return new AtomicFile(path, tmp, await open(tmp, 'wx'));
    } catch (e) {
      const dirSt = await stat(dir).catch(() => null);
      const why = !dirSt ? `folder '${dirname(path)}' does not exist` : !dirSt.isDirectory() ? `'${dirname(path)}' is not a folder` : fsReason(e);
      throw new RunError(`cannot write '${path}': ${why}`);
    }
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.fh) throw new Error(`${this.path}: write after close`);
    try {
      for (let off = 0; off < data.length; ) off += (await this.fh.write(data, off, data.length - off)).bytesWritten;
    } catch (e) {
      throw new RunError(`cannot write '${this.path}': ${fsReason(e)}`);
    }
    this.bytes += data.length;
  }

  async commit(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    try {
      await fh?.close();
      await rename(this.tmp, this.path);
    } catch (e) {
      await unlink(this.tmp).catch(() => {});
      throw new RunError(`cannot write '${this.path}': ${fsReason(e)}`);
    }
  }

  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => {});
    await unlink(this.tmp).catch(() => {});
  }
}

/** Creates `path` atomically from what `fill` writes; on failure nothing is left behind. */
async function writeAtomic(path: string, fill: (f: AtomicFile) => Promise<void>): Promise<number> {
  const f = await AtomicFile.create(path);
  try {
    await fill(f);
    await f.commit();
    return f.bytes;
  } catch (e) {
    await f.abort();
    throw e;
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a Float32Array as little-endian float32 (a view on little-endian hosts, a copy otherwise). */
function float32le(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 1000 ? 3 : 2)} s`;
}

// ---------------------------------------------------------------------------------------------------------------
// logits

export interface LogitsResult {
  model: LoadedModel;
  /** e.g. "gguf Q8_0" or "hf". */
  format: string;
  tokens: number[];
  logits: Float32Array; // (T, V)
  loadMs: number;
  forwardMs: number;
  outBytes: number;
}

/** Opens a model by what the path is: a folder -> HF folder, a file -> GGUF (the reader checks the magic). */
async function loadModelAt(path: string): Promise<LoadedModel> {
  const st = await stat(path).catch((e: unknown) => {
    throw new RunError(`model '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : fsReason(e)}`);
  });
  if (st.isDirectory()) return loadModel({ hf: directoryFileSet(path) });
  if (!st.isFile()) throw new RunError(`model '${path}' is neither a GGUF file nor an HF model folder`);
  const src = await fileSource(path).catch((e: unknown) => {
    throw new RunError(`model '${path}': cannot open: ${fsReason(e)}`);
  });
  try {
    return await loadModel({ gguf: src });
  } catch (e) {
    await src.close().catch(() => {}); // loadModel leaves the source open when the header does not parse
    throw e;
  }
}

/** The `lfm logits` path: load, check the ids against V, one forward over all tokens, write (T, V) float32. */
async function runLogits(modelPath: string, tokens: number[], outPath: string): Promise<LogitsResult> {
  let r!: Omit<LogitsResult, 'outBytes'>;
  const outBytes = await writeAtomic(outPath, async (out) => {
    const t0 = performance.now();
    const model = await loadModelAt(modelPath);
    const loadMs = performance.now() - t0;
    const { V } = model.dims;
    tokens.forEach((id, i) => {
      if (id >= V) throw new RunError(`token id ${id} (item ${i + 1} of --tokens) is not in the model's vocabulary: V = ${V}, valid ids 0..${V - 1}`);
    });
    const t1 = performance.now();
    const logits = forward(model.weights, model.dims, newState(model.dims), tokens, { allLogits: true }); // (T, V)
    const forwardMs = performance.now() - t1;
    await out.write(float32le(logits));
    const embd = model.gguf?.tensorsByName.get('token_embd.weight');
    const format = embd ? `gguf ${ggmlTypeName(embd.type)}` : model.format;
    r = { model, format, tokens, logits, loadMs, forwardMs };
  });
  return { ...r, outBytes };
}

async function cmdLogits(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags('logits', argv, {
    model: { type: 'string' },
    tokens: { type: 'string' },
    engine: { type: 'string' },
    out: { type: 'string' },
    weights: { type: 'string' },
  });
  if (flags.help) return help(io, 'logits');
  const modelPath = required('logits', flags, 'model');
  const tokenText = flags.tokens;
  if (typeof tokenText !== 'string') throw new UsageError('logits', `missing required option '--tokens'`);
  const tokens = parseTokenIds(tokenText);
  const outPath = required('logits', flags, 'out');
  const engine = checkEngine(flags.engine);
  const weights = weightsFlag('logits', flags, engine);

  const r = engine === 'wasm' ? await runLogitsWasm(modelPath, tokens, outPath, weights) : await runLogits(modelPath, tokens, outPath);
  const T = tokens.length;
  const V = r.logits.length / T;
  io.stderr.write(
    `logits: ${modelPath} (${r.format}) T=${T} V=${V} load ${seconds(r.loadMs)} forward ${seconds(r.forwardMs)}` +
      ` -> ${outPath} (${r.outBytes} bytes, float32 ${T}x${V})\n`,
  );
  return EXIT_OK;
}

function checkEngine(engine: string | boolean | undefined): 'reference' | 'wasm' {
  if (engine === undefined || engine === 'reference') return 'reference';
  if (engine === 'wasm') return 'wasm';
  throw new UsageError('logits', `unknown engine '${String(engine)}': the engines are 'reference' and 'wasm'`);
}

/** `lfm logits --engine wasm`: the same output through the WASM engine (every matrix at its stored type by default). */
async function runLogitsWasm(modelPath: string, tokens: number[], outPath: string, weights?: WeightsFlag): Promise<Omit<LogitsResult, 'model'> & { V: number }> {
  let r!: Omit<LogitsResult, 'model' | 'outBytes'> & { V: number };
  const outBytes = await writeAtomic(outPath, async (out) => {
    const t0 = performance.now();
    const st = await stat(modelPath).catch((e: unknown) => {
      throw new RunError(`model '${modelPath}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : fsReason(e)}`);
    });
    const input = st.isDirectory() ? { hf: directoryFileSet(modelPath) } : { gguf: await fileSource(modelPath) };
    const engine = await createWasmEngine(input, weights ? { weights } : {});
    const loadMs = performance.now() - t0;
    const V = engine.vocabSize;
    tokens.forEach((id, i) => {
      if (id >= V) throw new RunError(`token id ${id} (item ${i + 1} of --tokens) is not in the model's vocabulary: V = ${V}, valid ids 0..${V - 1}`);
    });
    const t1 = performance.now();
    const logits = await engine.forward(tokens, { allLogits: true }); // (T, V)
    const forwardMs = performance.now() - t1;
    await engine.dispose();
    await out.write(float32le(logits));
    r = { format: `${st.isDirectory() ? 'hf' : 'gguf'}, wasm ${engine.build}, weights ${describeWeightLayouts(engine.weightLayouts)}`, tokens, logits, loadMs, forwardMs, V };
  });
  return { ...r, outBytes };
}

// ---------------------------------------------------------------------------------------------------------------
// synth

export interface SynthResult {
  spec: SynthSpec;
  type: string;
  bytes: number;
  ms: number;
}

/** Writes the model; GGUF part by part through one file handle (the parts are never concatenated). */
async function runSynth(spec: SynthSpec, type: string, hf: boolean, outPath: string): Promise<SynthResult> {
  const t0 = performance.now();
  const model = synthModel(spec);
  let bytes = 0;
  if (hf) {
    await mkdir(outPath, { recursive: true }).catch((e: unknown) => {
      throw new RunError(`cannot create folder '${outPath}': ${fsReason(e)}`);
    });
    const files = synthHfFolder(model, type as HfType);
    for (const [name, data] of Object.entries(files)) {
      const u8 = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      bytes += await writeAtomic(join(outPath, name), (f) => f.write(u8));
    }
  } else {
    bytes = await writeAtomic(outPath, async (f) => {
      for (const part of synthGguf(model, type as SynthFileType)) await f.write(part);
    });
  }
  return { spec, type, bytes, ms: performance.now() - t0 };
}

async function cmdSynth(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags('synth', argv, {
    shape: { type: 'string' },
    type: { type: 'string' },
    seed: { type: 'string' },
    hf: { type: 'boolean' },
    out: { type: 'string' },
  });
  if (flags.help) return help(io, 'synth');
  const shape = required('synth', flags, 'shape');
  const base = shapeSpec(shape);
  if (!base) throw new UsageError('synth', `unknown shape '${shape}' (known: ${shapeNames().join(', ')})`);
  const hf = flags.hf === true;
  const type = required('synth', flags, 'type').toUpperCase();
  const allowed: readonly string[] = hf ? HF_TYPES : GGUF_TYPES;
  if (!allowed.includes(type)) {
    throw new UsageError('synth', `--type ${flags.type} is not available ${hf ? 'with --hf' : 'for GGUF'} (choose ${allowed.join(', ')})`);
  }
  let seed = base.seed;
  if (flags.seed !== undefined) {
    const s = String(flags.seed).trim();
    if (!/^\d+$/.test(s) || Number(s) > 0xffffffff) throw new UsageError('synth', `--seed '${flags.seed}' must be an integer 0..4294967295`);
    seed = Number(s);
  }
  const outPath = required('synth', flags, 'out');

  const r = await runSynth({ ...base, seed }, type, hf, outPath);
  io.stderr.write(`synth: ${shape} ${type} seed ${seed} -> ${outPath}${hf ? '/' : ''} ${r.bytes} bytes (${mib(r.bytes)}) in ${seconds(r.ms)}\n`);
  return EXIT_OK;
}

// ---------------------------------------------------------------------------------------------------------------
// main

function help(io: CliIo, command: string | null): number {
  io.stdout.write(command ? USAGE[command] : USAGE_TOP);
  return EXIT_OK;
}

/** package.json's version, found by walking up from this file (src/cli/ in a checkout, dist/src/cli/ built). */
async function version(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const text = await readFile(join(dir, 'package.json'), 'utf8').catch(() => null);
    if (text === null) continue;
    const pkg = JSON.parse(text) as { name?: string; version?: string };
    if (pkg.name === 'lfm.ts' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  run: async (argv, io) => {
    const code = await cmdRun(argv, io);
    return code < 0 ? help(io, 'run') : code;
  },
  chat: async (argv, io) => {
    const code = await cmdChat(argv, io);
    return code < 0 ? help(io, 'chat') : code;
  },
  serve: async (argv, io) => {
    const code = await cmdServe(argv, io);
    return code < 0 ? help(io, 'serve') : code;
  },
  web: async (argv, io) => {
    const code = await cmdWeb(argv, io);
    return code < 0 ? help(io, 'web') : code;
  },
  logits: cmdLogits,
  synth: cmdSynth,
  demo: cmdDemo,
};

/** Runs one `lfm` command line; returns the exit code (never throws, never calls process.exit). */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  registerNodeWorkers();
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      if (first === 'help' && rest[0] && USAGE[rest[0]]) return help(io, rest[0]);
      return help(io, null);
    }
    if (first === '--version') {
      io.stdout.write(`${await version()}\n`);
      return EXIT_OK;
    }
    const run = COMMANDS[first];
    if (!run) {
      const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
      throw new UsageError(null, `${what} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    }
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`error: ${e.message} (see 'lfm ${e.command ? `${e.command} ` : ''}--help')\n`);
      return EXIT_USAGE;
    }
    const message = e instanceof LfmError || e instanceof RunError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    io.stderr.write(`error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (process.env.LFM_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return EXIT_RUNTIME;
  }
}

/** True when this module is the process's entry point (`tsx src/cli/main.ts`), not imported (tests, bin/lfm.js). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
