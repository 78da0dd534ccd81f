// Relaxed-SIMD build vs baseline SIMD128 build on one model, in whatever runtime runs this file:
//
//   deno run --sloppy-imports --no-config -A bench/builds.ts bench/out/lfm2.5-1.2b.q4_0.gguf [prompt=128] [decode=16]
//   bun bench/builds.ts <file> ...        (Node 20 has no relaxed SIMD without flags; it reports baseline only)
//
// Prints prefill / decode tok/s per build (1 thread) and checks that both builds give the same logits, bitwise.

import { createWasmCore } from '../src/engine/wasm-core.js';
import { fileSource } from '../src/node/files.js';

const [file, p = '128', d = '16'] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const nPrompt = Number(p), nDecode = Number(d);
const prompt = Array.from({ length: nPrompt }, (_, i) => 14 + ((i * 7919 + 13) % 60000));
let first: Float32Array | null = null;
for (const simd of ['auto', 'baseline'] as const) {
  const e = await createWasmCore({ gguf: await fileSource(file) }, { simd, contextLength: nPrompt + nDecode + 8 });
  await e.decode(1);
  e.reset();
  let t = performance.now();
  const logits = await e.prefill(prompt);
  const pf = (performance.now() - t) / 1000;
  t = performance.now();
  for (let i = 0; i < nDecode; i++) await e.decode(100 + i);
  const dc = (performance.now() - t) / 1000;
  const same = first === null ? '' : first.every((v, i) => Object.is(v, logits[i])) ? ', logits bitwise equal to the first build' : ', LOGITS DIFFER';
  first ??= logits;
  console.log(`${e.build.padEnd(8)} prefill ${(nPrompt / pf).toFixed(2)} tok/s, decode ${(nDecode / dc).toFixed(2)} tok/s${e.relaxedRejected ? ` (relaxed not used: ${e.relaxedRejected})` : ''}${same}`);
  e.dispose();
}
