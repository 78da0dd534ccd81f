// Threads: how N instances of this module over one shared memory split one forward step (ggml's ith / nth).
//
// Every thread runs the same forward(); each op computes only its thread's share of the output (a contiguous
// range of rows, channels or heads), and a barrier separates an op from the next one that reads its output. No
// reduction is ever split across threads: every output element is computed whole by one thread, with the same
// operations in the same order whatever nth is, so the logits are bit-identical for any thread count.
//
// The barrier lives in a control block the host places in the shared memory (`ctl`, 64 bytes): word 0 counts the
// threads that have arrived, word 1 is the generation the waiters watch. Threads spin briefly (the gap between
// two ops is microseconds), then sleep. Builds without the threads feature (one thread over a non-shared
// memory: browsers that are not cross-origin isolated) compile the barrier away.
//
// Sleeping and waking go through the host (env.wait / env.notify: Atomics.wait / Atomics.notify) rather than
// memory.atomic.wait32 / notify: Node 20's baseline compiler (Liftoff) does not preserve float registers across
// those two instructions, and forward() lost its `eps` local after the first barrier that slept (seen with
// --liftoff-only on Node 20; Node 24 is correct). An import call spills registers like any call.

// @ts-ignore: decorator
@external("env", "wait")
declare function hostWait(ptr: usize, expected: i32): void;
// @ts-ignore: decorator
@external("env", "notify")
declare function hostNotify(ptr: usize, count: i32): void;

/** Control block words (byte offsets): barrier arrivals and generation. The host uses words 2.. (wasm-layout.ts). */
const CTL_COUNT: usize = 0;
const CTL_GEN: usize = 4;
/** Spins before sleeping: a few microseconds, about the length of the shortest ops. */
const SPINS: i32 = 1 << 14;

/** Waits until all nth threads have arrived. A no-op with one thread. */
export function barrier(ctl: usize, nth: i32): void {
  if (ASC_FEATURE_THREADS) { // (folded at compile time: builds without threads never compile the atomics)
    if (nth <= 1) return;
    const gen = atomic.load<i32>(ctl + CTL_GEN);
    if (atomic.add<i32>(ctl + CTL_COUNT, 1) == nth - 1) {
      // the last one in: reset the count before releasing the others (they may reach the next barrier at once)
      atomic.store<i32>(ctl + CTL_COUNT, 0);
      atomic.add<i32>(ctl + CTL_GEN, 1);
      hostNotify(ctl + CTL_GEN, nth - 1);
      return;
    }
    let spins = 0;
    while (atomic.load<i32>(ctl + CTL_GEN) == gen) {
      if (++spins > SPINS) hostWait(ctl + CTL_GEN, gen);
    }
  }
}

/** Start of thread ith's share of n items split into nth contiguous parts (the end is share(n, ith + 1, nth)). */
// @ts-ignore: decorator
@inline export function share(n: i32, ith: i32, nth: i32): i32 {
  return <i32>((<i64>n * <i64>ith) / <i64>nth);
}
