// Command-line flag parsing shared by every `lfm` subcommand, and the two error kinds that set the exit code.

import { parseArgs } from 'node:util';

/** The command line is wrong: exit 2. */
export class UsageError extends Error {
  constructor(readonly command: string | null, message: string) {
    super(message);
  }
}

/** Something failed while running, with a message already fit for the user: exit 1. */
export class RunError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Flags: node:util parseArgs in its lenient mode, checked here so every mistake gets a one-line message.

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;
export type Flags = Record<string, string | boolean | undefined>;

export function parseFlags(command: string, argv: string[], spec: FlagSpec): Flags {
  return parseCommand(command, argv, spec, 0).flags;
}

/** Like parseFlags, allowing up to `maxPositionals` plain arguments (e.g. the prompt of `lfm run`). */
export function parseCommand(command: string, argv: string[], spec: FlagSpec, maxPositionals: number): { flags: Flags; positionals: string[] } {
  const options = { ...spec, help: { type: 'boolean' as const, short: 'h' } };
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const flags: Flags = {};
  const positionals: string[] = [];
  for (const tok of tokens) {
    if (tok.kind === 'positional') {
      if (positionals.length >= maxPositionals) throw new UsageError(command, `unexpected argument '${tok.value}'`);
      positionals.push(tok.value);
      continue;
    }
    if (tok.kind === 'option-terminator') continue;
    const opt = (options as FlagSpec)[tok.name];
    if (!opt) throw new UsageError(command, `unknown option '${tok.rawName}'`);
    if (flags[tok.name] !== undefined) throw new UsageError(command, `option '--${tok.name}' given twice`);
    if (opt.type === 'boolean') {
      if (tok.value !== undefined) throw new UsageError(command, `option '--${tok.name}' takes no value`);
      flags[tok.name] = true;
    } else {
      // Lenient parseArgs takes the next word as the value even when it is another flag (`--model --out x`).
      const v = tok.value;
      if (v === undefined || (!tok.inlineValue && /^-(-|[a-zA-Z])/.test(v))) {
        throw new UsageError(command, `option '--${tok.name}' needs a value`);
      }
      flags[tok.name] = v;
    }
  }
  return { flags, positionals };
}

export function required(command: string, flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string') throw new UsageError(command, `missing required option '--${name}'`);
  if (v === '') throw new UsageError(command, `option '--${name}' is empty`);
  return v;
}


// ---------------------------------------------------------------------------------------------------------------
// --weights: how the WASM engine holds the matrices (every command that loads a model takes it)

/** The values of --weights: auto (the default) runs every matrix at its stored type. */
export const WEIGHTS_VALUES = ['auto', 'q8_0', 'q4_0', 'f32'] as const;
export type WeightsFlag = (typeof WEIGHTS_VALUES)[number];
export const WEIGHTS_HELP = `  --weights <how>           wasm engine: q8_0, q4_0 or f32 converts every matrix to that at load
                            (default auto: each at its stored type: F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K)`;

/** --weights, checked: undefined when absent; a UsageError for another value or with the reference engine. */
export function weightsFlag(command: string, flags: Flags, engine: string): WeightsFlag | undefined {
  const v = flags.weights;
  if (v === undefined) return undefined;
  const w = String(v).toLowerCase();
  if (!(WEIGHTS_VALUES as readonly string[]).includes(w)) throw new UsageError(command, `--weights '${String(v)}' is not one of ${WEIGHTS_VALUES.join(', ')}`);
  if (engine === 'reference') throw new UsageError(command, `--weights applies to the wasm engine; the reference engine always computes in f32`);
  return w as WeightsFlag;
}
