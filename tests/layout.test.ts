// The model descriptor, the tap ids, the weight codes and the threads' control block are numbers that both
// sides must agree on: src/engine/wasm-layout.ts (the host) and the constants at the top of assembly/model.ts
// and assembly/threads.ts (AssemblyScript cannot import the host's file). This test reads the assembly
// constants from the sources and checks every one against the host's, so a word moved on one side only fails
// here, by name, instead of as a garbage forward pass.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CTL, L, LAYER_TAP, M, MODEL_TAP, tapName } from '../src/engine/wasm-layout.js';

const ASSEMBLY = join(import.meta.dirname, '..', 'assembly');

/** `const NAME = 12, OTHER: usize = 4;` declarations of a file: name -> value (integers only). */
function constants(file: string): Map<string, number> {
  const src = readFileSync(join(ASSEMBLY, file), 'utf8');
  const out = new Map<string, number>();
  for (const decl of src.matchAll(/^const ([^;]+);/gm)) {
    for (const part of decl[1].split(',')) {
      const m = part.trim().match(/^([A-Z][A-Z0-9_]*)(?:\s*:\s*\w+)?\s*=\s*(-?\d+)$/);
      if (m) out.set(m[1], Number(m[2]));
    }
  }
  return out;
}

describe('host and assembly agree on the shared layouts', () => {
  const model = constants('model.ts');
  const threads = constants('threads.ts');

  it('every descriptor word (M_*) and layer word (L_*) of assembly/model.ts has the host\'s offset', () => {
    const words = [...model].filter(([n]) => n.startsWith('M_') || n === 'LAYER_WORDS');
    expect(words.length).toBeGreaterThan(30);
    for (const [name, v] of words) {
      const key = name === 'LAYER_WORDS' ? 'LAYER_WORDS' : name.slice(2);
      expect(M[key as keyof typeof M], `${name} (M.${key})`).toBe(v);
    }
    const layer = [...model].filter(([n]) => n.startsWith('L_'));
    expect(layer.length).toBeGreaterThan(20);
    for (const [name, v] of layer) expect(L[name.slice(2) as keyof typeof L], `${name} (L.${name.slice(2)})`).toBe(v);
  });

  it('every tap code (T_*) has the host\'s code, and each names the oracle\'s tap', () => {
    const taps = [...model].filter(([n]) => n.startsWith('T_'));
    for (const [name, v] of taps) {
      const key = name.slice(2);
      const host = key in MODEL_TAP ? MODEL_TAP[key as keyof typeof MODEL_TAP] : LAYER_TAP[key as keyof typeof LAYER_TAP];
      expect(host, `${name}`).toBe(v);
    }
    expect(taps.length).toBe(Object.keys(MODEL_TAP).length + Object.keys(LAYER_TAP).length);
    expect(tapName(MODEL_TAP.LM_HEAD)).toBe('lm_head');
    expect(tapName(32 * 3 + LAYER_TAP.QN)).toBe('model.layers.2.self_attn.q_layernorm');
    expect(tapName(32 * 1 + LAYER_TAP.LAYER)).toBe('model.layers.0');
  });

  it("the barrier's control words (assembly/threads.ts) are the host's CTL words", () => {
    expect(threads.get('CTL_COUNT')).toBe(CTL.COUNT * 4);
    expect(threads.get('CTL_GEN')).toBe(CTL.GEN * 4);
  });
});
