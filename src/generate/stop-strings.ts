// Stop strings over streamed text: text is released as soon as it cannot be the start of a stop string, so a
// stop string split across tokens is still found and never shown.

export class StopMatcher {
  private held = '';
  constructor(private readonly stops: readonly string[]) {}

  /**
   * Adds text; returns what can be shown now, and whether a stop string completed (the text before it is in
   * `text`, the stop string and anything after it are dropped).
   */
  push(chunk: string): { text: string; stopped: boolean } {
    const buf = this.held + chunk;
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = buf.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.held = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    // Hold back the longest tail of buf that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > hold; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    this.held = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), stopped: false };
  }

  /** Releases held text at the end of generation. */
  flush(): string {
    const t = this.held;
    this.held = '';
    return t;
  }
}
