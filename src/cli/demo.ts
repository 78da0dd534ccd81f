// `lfm demo`: the whole pipeline, offline, on a seeded random model, through the same code as `lfm run`.
//
//   synth      a tiny LFM2 model (the d96-gqa3 test shape, Q4_0) with seeded random weights and a real BPE
//              vocabulary, written as a GGUF into a temp folder (removed afterwards)
//   tokenizer  built from the GGUF's tokenizer metadata
//   template   the GGUF's own Jinja chat template (rendered with @huggingface/jinja)
//   engine     the WASM SIMD engine where the runtime has SIMD128 (else the fp32 reference engine)
//   sampling   temperature, top-k and a seed, as `lfm run` takes them
//   streaming  the reasoning (dimmed on a terminal, between <think> and </think> otherwise), then the answer
//
// Random weights never choose to think, so the demo model's template opens <think> in the generation prompt (as
// some thinking models' templates do), and a reasoning budget closes it: the model reasons for at most
// DEMO_REASONING_BUDGET tokens, then `</think>` is inserted and it answers. The text itself means nothing.
// The model file, prompt and options are fixed, so the same engine prints the same tokens every time.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesSource } from '../../reference/bytes.js';
import { concatParts, gv, readGguf, readGgufTensorBytes, writeGguf, type GgufValue } from '../../reference/gguf.js';
import { synthGguf, synthModel } from '../synth/random-model.js';
import { SYNTH_SHAPES } from '../synth/shapes.js';
import { cmdRun } from './chat-commands.js';
import { parseFlags } from './flags.js';

/** Where the demo writes; `lfm run` decides on colour from `isTTY`. */
export interface DemoIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export const DEMO_SHAPE = 'd96-gqa3';
export const DEMO_PROMPT = 'What is the capital of France?';
export const DEMO_REASONING_BUDGET = 24;
export const DEMO_MAX_TOKENS = 64;
const DEMO_SEED = 1;
const DEMO_TEMPERATURE = 0.8;

/** ChatML as LFM2 writes it, with `<think>` opened in the generation prompt (see the file comment). */
export const DEMO_CHAT_TEMPLATE =
  "{{- bos_token -}}{%- for message in messages -%}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n<think>' -}}{%- endif -%}";

export const DEMO_USAGE = `usage: lfm demo

Runs the whole pipeline offline on a seeded random model, through the same code as 'lfm run': writes the tiny
${DEMO_SHAPE} model (Q4_0, random weights, a real BPE vocabulary) as a GGUF into a temp folder, loads it on the WASM
engine, renders "${DEMO_PROMPT}" with the model's chat template, samples ${DEMO_MAX_TOKENS} tokens (seed ${DEMO_SEED})
and streams them: at most ${DEMO_REASONING_BUDGET} tokens of reasoning (its template opens <think>; the reasoning budget
closes it), then the answer, then the statistics. The weights are random, so the text means nothing: the point
is to see every stage work on a machine with no model and no network. With the real model:
  lfm run "${DEMO_PROMPT}"
`;

/** The demo model as GGUF bytes: the synth model with the demo chat template added to its metadata. */
export async function demoModelBytes(): Promise<Uint8Array> {
  const spec = SYNTH_SHAPES.find((s) => s.name === DEMO_SHAPE)!;
  const src = bytesSource(concatParts(synthGguf(synthModel(spec), 'Q4_0')), `${DEMO_SHAPE}.gguf`);
  const file = await readGguf(src);
  const tensors = [];
  for (const t of file.tensors) tensors.push({ name: t.name, dims: t.dims, type: t.type, data: await readGgufTensorBytes(file, src, t.name) });
  const metadata: [string, GgufValue][] = [...file.metadata, ['tokenizer.chat_template', gv.str(DEMO_CHAT_TEMPLATE)]];
  return concatParts(writeGguf({ metadata, tensors }));
}

export async function cmdDemo(argv: string[], io: DemoIo): Promise<number> {
  const flags = parseFlags('demo', argv, {});
  if (flags.help) {
    io.stdout.write(DEMO_USAGE);
    return 0;
  }
  const dir = await mkdtemp(join(tmpdir(), 'lfm-demo-'));
  try {
    const path = join(dir, `${DEMO_SHAPE}.q4_0.gguf`);
    const bytes = await demoModelBytes();
    await writeFile(path, bytes);
    io.stdout.write(
      `lfm demo: the whole pipeline offline, on a seeded random model (the text means nothing)\n` +
        `  model     ${DEMO_SHAPE}, Q4_0, ${(bytes.length / 1024).toFixed(0)} KiB, written to ${path}\n` +
        `  prompt    "${DEMO_PROMPT}" through the model's chat template (it opens <think>)\n` +
        `  sampling  temperature ${DEMO_TEMPERATURE}, top-k 50, seed ${DEMO_SEED}; reasoning budget ${DEMO_REASONING_BUDGET}, at most ${DEMO_MAX_TOKENS} tokens\n` +
        `  runs      lfm run "${DEMO_PROMPT}" --model ${path} --temperature ${DEMO_TEMPERATURE} --seed ${DEMO_SEED} --reasoning-budget ${DEMO_REASONING_BUDGET} --max-tokens ${DEMO_MAX_TOKENS}\n\n`,
    );
    const code = await cmdRun(
      [
        DEMO_PROMPT,
        '--model', path,
        '--temperature', String(DEMO_TEMPERATURE),
        '--top-k', '50',
        '--seed', String(DEMO_SEED),
        '--reasoning-budget', String(DEMO_REASONING_BUDGET),
        '--max-tokens', String(DEMO_MAX_TOKENS),
      ],
      io,
    );
    if (code === 0) io.stdout.write(`\nWith the real model (a 700 MB download, once): lfm run "${DEMO_PROMPT}"\n`);
    return code;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
