// Whose turn it is on the engine: one Lfm holds one engine and one conversation state, so calls take turns.
//
// The rule (src/lfm.ts documents it for users):
//   - A call's stream takes the engine when its consumer first pulls it; calls wait in the order they first pull.
//   - It holds the engine until its generation is over, and hands it back BEFORE the final `done` event is handed
//     out (so a consumer may start the next call from its `done` handler), or when the consumer stops early
//     (break, return, throw).
//   - While it holds the engine, a stream whose consumer is not pulling (suspended at a yield) is idle. A waiting
//     call preempts a holder that has been idle for `idleMs`: the holder loses its turn at once, and its next pull
//     ends it as if aborted (finish_reason 'abort'), without touching the engine again. A stream inside the
//     engine (prefill, decode) is never preempted.
// idleMs: 0 preempts an idle holder as soon as someone waits; Infinity never preempts (an abandoned stream then
// blocks every later call, as a held lock does).

/** One holder's turn. */
export class Turn {
  /** When the holder last became idle (suspended at a yield), or null while it is working or being pulled. */
  idleSince: number | null = null;
  /** Set when a waiting call took the engine away; the holder must not touch it again. */
  preempted = false;
  /** Called once, when the turn is preempted (the holder's generation aborts on it). */
  onPreempted: (() => void) | null = null;

  constructor(private readonly turns: Turns) {}

  /** The holder is about to wait for its consumer (it yields). */
  idle(): void {
    this.idleSince = this.turns.now();
    this.turns.pump();
  }

  /** The consumer pulled again. */
  busy(): void {
    this.idleSince = null;
  }

  /** Hands the engine back (idempotent; a no-op after preemption). */
  release(): void {
    this.turns.drop(this);
  }
}

export class Turns {
  private holder: Turn | null = null;
  private readonly waiting: ((t: Turn) => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    /** How long a holder may stay idle while someone waits before it is preempted (ms). */
    readonly idleMs: number,
    readonly now: () => number = () => Date.now(),
  ) {}

  /** Resolves with a turn once the engine is free (or its idle holder has been preempted). */
  acquire(): Promise<Turn> {
    return new Promise((grant) => {
      this.waiting.push(grant);
      this.pump();
    });
  }

  /** The holder gave its turn back. */
  drop(t: Turn): void {
    if (this.holder !== t) return;
    this.holder = null;
    this.pump();
  }

  /** Grants turns while it can; arms a timer when the only obstacle is a holder that is idle but not for long. */
  pump(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.waiting.length > 0) {
      const h = this.holder;
      if (h !== null) {
        if (h.idleSince === null || this.idleMs === Infinity) return; // working: its release() pumps again
        const wait = h.idleSince + this.idleMs - this.now();
        if (wait > 0) {
          this.timer = setTimeout(() => this.pump(), wait);
          return;
        }
        h.preempted = true;
        h.onPreempted?.();
        this.holder = null;
      }
      const t = new Turn(this);
      this.holder = t;
      this.waiting.shift()!(t);
    }
  }
}
