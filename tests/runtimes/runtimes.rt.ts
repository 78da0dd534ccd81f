// The runtime-agnostic core, run outside Node: the smoke bundle (build/bundle-smoke.ts) must build without Node
// built-ins, and Deno, Bun, Chromium and workerd must give exactly Node's tokens for the same seed.
//
//   npm run test:runtimes     (not part of `npm test`; see vitest.runtimes.config.ts)
//
// Equality is exact for everything, with no tolerance: the model bytes, the greedy ids and answer, the seeded
// sampled ids, and every logit bit of the sampled run. The core does the same IEEE arithmetic in every engine
// except Math.exp / pow / sin / cos, which ECMAScript leaves implementation-approximated. Measured on 2e5 inputs
// each (2026-11): Node 20 (V8 11.3) differs from Deno (V8 15.0) and from Bun (JavaScriptCore) in the last bit of
// 6-10% of those doubles, Deno from Bun in about 0.1%; yet after rounding to Float32, as the model stores every
// activation, 0 of 6e7 exp/sin/cos results differed (a 1-ulp double error flips a Float32 about once in 2^29).
// So the logits are bit-identical here, and the test says so. A long run of the full model makes ~1e5 such calls
// per token, so one ulp may eventually differ there; if it ever shows up here, the failure names the first
// differing step, id and both values, and whether the logits or the sampler diverged first.
// A runtime that is not installed is skipped with what is missing; see runners.ts for where each comes from.
// In CI (CI=true or CI=1) every runtime is expected: a missing one fails the check with the same reason, so a
// broken install can never pass as "skipped". LFM_RUNTIMES_OPTIONAL=chromium,workerd (a comma list) names the
// runtimes a CI machine may lack on purpose; they are still run when present.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSmoke, SMOKE_OUT_DIR, type BundleResult } from '../../build/bundle-smoke.js';
import { compareWithNode, runChromiumNotIsolated, runRuntime, type RunResult, type SmokeOutput } from './runners.js';
import { WASM_THREADS } from './smoke-entry.js';

const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const OPTIONAL = new Set((process.env.LFM_RUNTIMES_OPTIONAL ?? '').split(',').map((s) => s.trim()).filter(Boolean));

/** True when a missing `name` must fail the check rather than skip it. */
function runtimeRequired(name: string, inCi = IN_CI, optional: ReadonlySet<string> = OPTIONAL): boolean {
  return inCi && !optional.has(name);
}

let bundle: BundleResult;
let node: SmokeOutput;
const report: Record<string, unknown> = {};

beforeAll(async () => {
  bundle = await bundleSmoke(); // throws PortabilityError with the import chains on a node: import
  const r = await runRuntime('node');
  if (!r.ok) throw new Error(r.skipped);
  node = r.output;
  report.node = { runtime: node.runtime, wallMs: Math.round(r.wallMs), smoke: node.smoke };
});

afterAll(() => {
  writeFileSync(join(SMOKE_OUT_DIR, 'results.json'), JSON.stringify(report, null, 2) + '\n');
});

describe('runtime-agnostic bundle', () => {
  it('builds for a neutral platform with no Node built-ins', () => {
    expect(bundle.bytes).toBeGreaterThan(0);
    expect(bundle.inputs.filter((f) => f.startsWith('src/node/') || f.startsWith('node:'))).toEqual([]);
  });

  it('runs in Node: 24 sampled and 24 greedy ids', () => {
    expect(node.smoke.tokens).toHaveLength(24);
    expect(node.smoke.greedy).toHaveLength(24);
    expect(node.smoke.finish).toBe('length');
    expect(node.trace.logits).toHaveLength(24);
    expect('tokens' in node.smoke.wasm, 'the WASM engine runs in Node').toBe(true);
    expect(node.smoke.wasm, 'with threads, in worker_threads').toMatchObject({ threads: WASM_THREADS, description: expect.stringMatching(/worker_threads, shared memory/) });
    console.log(`${node.runtime}: smoke ${node.smoke.ms.toFixed(0)} ms; sampled ${JSON.stringify(node.smoke.tokens)}; greedy ${JSON.stringify(node.smoke.greedy)}`);
  });
});

describe.each(['deno', 'bun', 'chromium', 'workerd'] as const)('%s', (name) => {
  it("gives Node's tokens and logits, bit for bit", async (ctx) => {
    const r: RunResult = await runRuntime(name);
    if (!r.ok) {
      report[name] = { skipped: r.skipped };
      if (runtimeRequired(name)) {
        expect.fail(`${name} is expected in CI (CI=${process.env.CI}; LFM_RUNTIMES_OPTIONAL lists the ones that may be missing) but is missing: ${r.skipped}`);
      }
      console.log(`skipped ${r.skipped}`);
      return ctx.skip(r.skipped);
    }
    const c = compareWithNode(node, r.output);
    report[name] = { runtime: r.output.runtime, command: r.command, wallMs: Math.round(r.wallMs), smoke: r.output.smoke, ...c };
    console.log(`${c.summary}; run ${(r.wallMs / 1000).toFixed(1)} s`);
    expect.soft(c.model, 'model bytes').toBeNull();
    expect.soft(c.greedy, 'greedy run').toBeNull();
    expect.soft(c.sampled, 'seeded sampled run').toBeNull();
    expect.soft(c.logits, 'logits of the sampled run').toBeNull();
    // The WASM engine: its baseline and relaxed builds are bit-identical, and so are its thread counts, so every
    // runtime that can run it must give Node's WASM tokens (Node 20 runs baseline; Deno, Bun and Chromium pick
    // relaxed), with threads in workers wherever the runtime has them (the page is served cross-origin isolated).
    const w = r.output.smoke.wasm;
    const nw = node.smoke.wasm;
    if ('unavailable' in w) {
      console.log(`${name}: WASM engine not run: ${w.unavailable}`);
      expect(name, 'only workerd cannot compile wasm').toBe('workerd');
    } else if ('tokens' in nw) {
      console.log(`${name}: WASM engine (${w.description}) greedy ${JSON.stringify(w.greedy)}`);
      expect.soft(w.threads, 'WASM engine threads').toBe(WASM_THREADS);
      expect.soft(w.description, 'in web workers over a shared memory').toMatch(/web workers, shared memory/);
      expect.soft(w.greedy, 'WASM engine greedy run').toEqual(nw.greedy);
      expect.soft(w.tokens, 'WASM engine seeded run').toEqual(nw.tokens);
    }
  });
});

describe('chromium, a page that is not cross-origin isolated', () => {
  it('runs the WASM engine in one worker (no shared memory), says why, and gives the same tokens', async (ctx) => {
    const r = await runChromiumNotIsolated();
    if ('skipped' in r) return ctx.skip(r.skipped);
    report.chromiumNotIsolated = r;
    expect(r.crossOriginIsolated).toBe(false);
    expect(r.threads).toBe(1);
    expect(r.description).toMatch(/1 thread \(web workers\) \(threads need a shared memory/);
    if ('greedy' in node.smoke.wasm) expect(r.greedy).toEqual(node.smoke.wasm.greedy);
  });
});
