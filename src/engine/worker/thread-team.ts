// The threads of one engine, over its shared memory's control block (wasm-layout.ts CTL): the leading thread
// starts a step by bumping START and waking the others; every other thread loops: wait for START to move, run its
// share of forward(desc, ith, nth), repeat; CMD = EXIT ends the loop. The barrier between ops inside a step is
// WASM code (assembly/threads.ts).
//
// Waiting: a helper spins for a few microseconds first (a step follows the previous one quickly during a
// prefill), then sleeps in Atomics.wait, which only workers may do. Between tokens of a decode the helpers sleep
// while the caller samples.

import { CMD, CTL, CTL_BYTES } from '../wasm-layout.js';
import { CTL_ADDRESS, type WasmExports } from '../wasm-module.js';
import type { ThreadTeam } from '../wasm-core.js';

/** Spins of the helper loop before it sleeps (each an Atomics.load: about 10-20 microseconds in all). */
const SPINS = 2000;

function control(memory: WebAssembly.Memory): Int32Array {
  return new Int32Array(memory.buffer, CTL_ADDRESS, CTL_BYTES / 4);
}

/** The leader's view of a team of nth threads (itself included). */
export function leaderTeam(memory: WebAssembly.Memory, nth: number): ThreadTeam {
  const ctl = control(memory);
  return {
    nth,
    start(desc) {
      Atomics.store(ctl, CTL.DESC, desc);
      Atomics.store(ctl, CTL.CMD, CMD.RUN);
      Atomics.add(ctl, CTL.START, 1);
      Atomics.notify(ctl, CTL.START);
    },
  };
}

/** Tells every helper to leave its loop (from any thread that holds the memory). */
export function stopTeam(memory: WebAssembly.Memory): void {
  const ctl = control(memory);
  Atomics.store(ctl, CTL.CMD, CMD.EXIT);
  Atomics.add(ctl, CTL.START, 1);
  Atomics.notify(ctl, CTL.START);
}

/** A helper thread's life: join each step until told to exit. Blocks its (worker) thread. */
export function helperLoop(wasm: WasmExports, memory: WebAssembly.Memory, ith: number, nth: number): void {
  const ctl = control(memory);
  let seen = 0; // START is 0 until the first step: a helper that starts late still joins step 1
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, CTL.START) === seen) {
      if (++spins > SPINS) Atomics.wait(ctl, CTL.START, seen);
    }
    seen = Atomics.load(ctl, CTL.START);
    if (Atomics.load(ctl, CTL.CMD) === CMD.EXIT) return;
    wasm.forward(Atomics.load(ctl, CTL.DESC), ith, nth);
  }
}
