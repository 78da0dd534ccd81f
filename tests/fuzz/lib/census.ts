// The fuzz loop and its outcome census: seeds, per-case replay, classification of what a loader threw.
//
// Seeding: FUZZ_SEED (an integer) seeds the whole run, FUZZ_CASES sets the case count, FUZZ_CASE=i runs only case
// i (with its mutation log printed), FUZZ_DUMP=dir writes the input of every failing case there (to make a
// regression file of it). Each case draws from its own generator, derived from (seed, format, index), so one case
// replays alone. Without FUZZ_SEED the seed is fixed (DEFAULT_FUZZ_SEED): `npm test` is deterministic, and a run
// with another seed explores other cases. (Not FC_SEED: the vitest configs draw a fresh FC_SEED for every run, so
// the property tests explore; the fuzzers' 10,000 cases per format stay the same cases in CI.)
//
// Outcomes: 'ok' (loaded, and where a model was loaded one forward step gave finite logits), a typed error by class
// (FormatError, TensorError, ConfigError, InputError: the project's errors that name the file and field or tensor),
// and failures: 'untyped <Class>' (TypeError, RangeError, plain Error, QuantError...: a crash deep inside),
// 'unnamed <Class>' (a typed error whose message does not name the input), 'hang' (a case that did not settle),
// 'nonfinite' (loaded, but the logits are not finite), 'invalid' (loaded, but the result breaks an invariant).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FormatError, InputError, TensorError } from '../../../reference/errors.js';
import { hashString, Rng } from '../../../src/synth/rng.js';

export const DEFAULT_FUZZ_SEED = 20261122;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${v} is not an integer`);
  return n;
}

export const FUZZ_SEED = envInt('FUZZ_SEED') ?? DEFAULT_FUZZ_SEED;
/** Cases per format (default 10,000). */
export const FUZZ_CASES = envInt('FUZZ_CASES') ?? 10_000;
const ONLY_CASE = envInt('FUZZ_CASE');
const DUMP_DIR = process.env.FUZZ_DUMP;

/** A random generator with the helpers the mutators need. */
export class FuzzRng extends Rng {
  /** Integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.uniform() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** An index drawn with the given weights. */
  weighted(ws: readonly number[]): number {
    let r = this.uniform() * ws.reduce((a, b) => a + b, 0);
    for (let i = 0; i < ws.length; i++) {
      r -= ws[i];
      if (r < 0) return i;
    }
    return ws.length - 1;
  }
}

/** A loader's result: 'ok' or a failure that carries what happened. */
export class CaseFailure extends Error {
  constructor(
    readonly outcome: string,
    message: string,
  ) {
    super(message);
  }
}

const TYPED = [FormatError, TensorError, ConfigError, InputError] as const;

/**
 * The outcome of an error thrown by a loader. A typed error must name the input: its message has to contain one
 * of `names` (the file name given to the source, or the file inside a folder).
 */
export function classify(e: unknown, names: readonly string[]): { outcome: string; detail: string } {
  if (e instanceof CaseFailure) return { outcome: e.outcome, detail: e.message };
  for (const C of TYPED) {
    if (e instanceof C) {
      const named = names.length === 0 || names.some((n) => e.message.includes(n));
      const field = e instanceof TensorError ? `tensor ${e.tensor}` : e instanceof InputError ? '' : (e as FormatError).field;
      if (!named) return { outcome: `unnamed ${C.name}`, detail: e.message.slice(0, 300) };
      return { outcome: C.name, detail: `${C.name}: ${shorten(field.replace(/\b\d+\b/g, 'N'))}` };
    }
  }
  if (e instanceof Error) {
    return { outcome: `untyped ${e.constructor.name}`, detail: `${e.constructor.name}: ${e.message.slice(0, 300)}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` };
  }
  return { outcome: `untyped ${typeof e}`, detail: String(e).slice(0, 200) };
}

function shorten(s: string): string {
  return s.length > 70 ? `${s.slice(0, 70)}…` : s;
}

/**
 * Outcomes that pass. 'overflow' is a model that loaded and whose logits are not finite because the file holds
 * finite weights so large that f32 arithmetic overflows (see drive.ts): the weights are what the file says.
 */
export const ALLOWED = new Set(['ok', 'overflow', 'FormatError', 'TensorError', 'ConfigError', 'InputError']);

export interface CaseResult {
  outcome: string;
  detail?: string;
}

export interface FuzzCase {
  index: number;
  rng: FuzzRng;
  /** What the mutators did, for the failure report. */
  log: string[];
}

export interface CensusReport {
  format: string;
  seed: number;
  cases: number;
  counts: Map<string, number>;
  fields: Map<string, number>;
  failures: { index: number; outcome: string; detail: string; log: string[] }[];
  ms: number;
  /** Of which making the inputs (mutating seeds). */
  makeMs: number;
  slowest: { index: number; ms: number };
}

/** Milliseconds after which a case counts as a hang: an await that never returns, or a loop that ran this long. */
const HANG_MS = 20_000;

function withHangGuard<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseFailure('hang', `did not settle within ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/**
 * Runs `cases` cases: `make` builds the case's input from its generator (a mutated seed; an exception there is a
 * bug of the fuzzer and fails the test), `drive` feeds it to the loaders and returns 'ok' or throws what they
 * threw, which is classified. `files(input)` gives the input as files, for FUZZ_DUMP.
 */
export async function fuzz<T>(
  format: string,
  make: (c: FuzzCase) => T,
  drive: (input: T) => Promise<CaseResult> | CaseResult,
  opts: { cases?: number; names: readonly string[]; files?: (input: T) => Record<string, Uint8Array | string> },
): Promise<CensusReport> {
  const cases = opts.cases ?? FUZZ_CASES;
  const report: CensusReport = { format, seed: FUZZ_SEED, cases: 0, counts: new Map(), fields: new Map(), failures: [], ms: 0, makeMs: 0, slowest: { index: -1, ms: 0 } };
  const t0 = performance.now();
  const base = hashString(format, FUZZ_SEED >>> 0) ^ Math.floor(FUZZ_SEED / 2 ** 32);
  for (let index = 0; index < cases; index++) {
    if (ONLY_CASE !== undefined && index !== ONLY_CASE) continue;
    const c: FuzzCase = { index, rng: new FuzzRng(hashString(String(index), base)), log: [] };
    const m0 = performance.now();
    const input = make(c);
    const c0 = performance.now();
    report.makeMs += c0 - m0;
    let res: CaseResult;
    try {
      res = await withHangGuard(Promise.resolve().then(() => drive(input)));
    } catch (e) {
      res = classify(e, opts.names);
    }
    const ms = performance.now() - c0;
    // A case that took this long hung (a loop bounded by a corrupt count, not by the input's size), even if it
    // finished: typical cases take milliseconds, so this is a hang detector, not a speed test.
    if (ms > HANG_MS && ALLOWED.has(res.outcome)) res = { outcome: 'hang', detail: `took ${(ms / 1000).toFixed(1)} s (${res.outcome})` };
    if (ms > report.slowest.ms) report.slowest = { index, ms };
    report.cases++;
    report.counts.set(res.outcome, (report.counts.get(res.outcome) ?? 0) + 1);
    if (res.detail && ALLOWED.has(res.outcome)) report.fields.set(res.detail, (report.fields.get(res.detail) ?? 0) + 1);
    if (!ALLOWED.has(res.outcome)) {
      report.failures.push({ index, outcome: res.outcome, detail: res.detail ?? '', log: c.log });
      if (DUMP_DIR && opts.files) {
        const dir = join(DUMP_DIR, `${format}-${FUZZ_SEED}-${index}`);
        mkdirSync(dir, { recursive: true });
        for (const [n, b] of Object.entries(opts.files(input))) writeFileSync(join(dir, n), b);
      }
    }
    if (ONLY_CASE !== undefined) console.log(`case ${index}: ${res.outcome} (${ms.toFixed(0)} ms)\n  ${c.log.join('\n  ')}\n  ${res.detail ?? ''}`);
  }
  report.ms = performance.now() - t0;
  return report;
}

/** The census as text: counts by outcome, the commonest typed-error fields, the first failures with replay lines. */
export function formatCensus(r: CensusReport, testFile: string): string {
  const lines = [`fuzz ${r.format}: ${r.cases} cases, FUZZ_SEED=${r.seed}, ${(r.ms / 1000).toFixed(1)} s (${(r.makeMs / 1000).toFixed(1)} s making inputs; slowest case #${r.slowest.index}: ${r.slowest.ms.toFixed(0)} ms)`];
  const sorted = [...r.counts].sort((a, b) => b[1] - a[1]);
  lines.push(`  outcomes: ${sorted.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const untyped = r.cases - [...r.counts].filter(([k]) => ALLOWED.has(k)).reduce((a, [, n]) => a + n, 0);
  lines.push(`  failures (untyped, unnamed, hang, nonfinite, invalid): ${untyped}`);
  const top = [...r.fields].sort((a, b) => b[1] - a[1]).slice(0, 12);
  lines.push(`  commonest typed errors: ${top.map(([k, n]) => `${k} (${n})`).join('; ')}`);
  for (const f of r.failures.slice(0, 8)) {
    lines.push(`  FAIL case ${f.index}: ${f.outcome}  (replay: FUZZ_SEED=${r.seed} FUZZ_CASE=${f.index} npx vitest run ${testFile})`);
    lines.push(`    mutations: ${f.log.join(' | ')}`);
    lines.push(`    ${f.detail.split('\n').join('\n    ')}`);
  }
  return lines.join('\n');
}

/**
 * Why a run says too little, if it does: fewer than `minOk` of the cases loaded (the mutators broke everything at
 * the first byte), or an expected error class never came up (a mutator stopped reaching its loader). Empty when the
 * run covered what it should.
 */
export function coverageGaps(r: CensusReport, minOk: number, classes: readonly string[]): string[] {
  const gaps: string[] = [];
  const ok = (r.counts.get('ok') ?? 0) / Math.max(1, r.cases);
  if (ok < minOk) gaps.push(`only ${(100 * ok).toFixed(1)}% of the cases loaded (expected at least ${100 * minOk}%)`);
  for (const c of classes) if (!r.counts.get(c)) gaps.push(`no case ended in a ${c}`);
  return gaps;
}
