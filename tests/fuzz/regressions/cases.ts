// The defects the loader fuzzers found (and the ones issue 7 reported), one reproducer file each, with the typed
// error each must now give. tests/fuzz/regressions.test.ts runs them all on every `npm test`; make.ts writes the
// files (`npx tsx tests/fuzz/regressions/make.ts`), small and deterministic.
//
// kind: how the file is fed to the loaders.
//   gguf       a GGUF model: reference loadModel and the WASM core (createWasmCore), both must throw.
//   hf         an HF folder (the directory): both engines, both must throw.
//   config     a config.json object: configFromHf.
//   tokenizer  a directory with tokenizer.json (+ tokenizer_config.json): Lfm2Tokenizer.fromJson.

import { ConfigError, FormatError, TensorError } from '../../../reference/errors.js';

export type RegressionKind = 'gguf' | 'hf' | 'config' | 'tokenizer';

export interface RegressionCase {
  /** File or directory under tests/fuzz/regressions/. */
  path: string;
  kind: RegressionKind;
  /** What went wrong before the fix. */
  before: string;
  /** The error now; null: loads and works (checked by the test). */
  error: { type: typeof FormatError | typeof TensorError | typeof ConfigError; where: string; message: RegExp } | null;
}

export const REGRESSIONS: RegressionCase[] = [
  {
    path: 'gguf-i64-array-as-scalar.gguf',
    kind: 'gguf',
    before: 'TypeError: Do not know how to serialize a BigInt (both engines): lfm2.context_length holds an INT64 array',
    error: { type: ConfigError, where: 'lfm2.context_length', message: /expected a number, got a BigInt64Array of 2 \(a GGUF array where a scalar belongs\)/ },
  },
  {
    path: 'gguf-q8_0-nan-scale.gguf',
    kind: 'gguf',
    before: 'loaded: the oracle gave all-NaN logits, the WASM engine finite wrong ones',
    error: { type: TensorError, where: 'blk.1.attn_q.weight', message: /Q8_0 block 5 \(elements 160\.\.191\) has scale d = NaN/ },
  },
  {
    path: 'gguf-q4_0-inf-scale.gguf',
    kind: 'gguf',
    before: 'loaded: non-finite logits in the oracle, finite wrong ones in the WASM engine',
    error: { type: TensorError, where: 'blk.0.ffn_down.weight', message: /Q4_0 block 0 \(elements 0\.\.31\) has scale d = -Inf/ },
  },
  {
    path: 'gguf-f32-nan-norm.gguf',
    kind: 'gguf',
    before: 'loaded with a NaN in a float norm weight (the oracle: all-NaN logits)',
    error: { type: TensorError, where: 'blk.0.ffn_norm.weight', message: /element 7 is NaN/ },
  },
  {
    path: 'gguf-f16-inf-weight.gguf',
    kind: 'gguf',
    before: 'loaded with an Inf in an F16 matrix',
    error: { type: TensorError, where: 'blk.1.ffn_up.weight', message: /element 100 is \+Inf/ },
  },
  {
    path: 'gguf-alignment-shifted.gguf',
    kind: 'gguf',
    before: 'loaded garbage: written with alignment 32, general.alignment says 16, so every tensor was read 16 bytes early',
    error: { type: FormatError, where: 'data section', message: /16 bytes follow the last tensor's data .* general\.alignment of 16/ },
  },
  {
    path: 'gguf-offsets-swapped.gguf',
    kind: 'gguf',
    before: 'loaded with two same-shaped tensors swapped (offsets aligned, in the file, not overlapping)',
    error: { type: FormatError, where: "tensor 'blk.0.ffn_gate.weight'", message: /data offset \d+ breaks the layout: .* must start at \d+/ },
  },
  {
    path: 'hf-bf16-nan',
    kind: 'hf',
    before: 'loaded a BF16 NaN weight silently',
    error: { type: TensorError, where: 'model.layers.1.self_attn.k_proj.weight', message: /element 3 is NaN/ },
  },
  {
    path: 'hf-header-deep-shape',
    kind: 'hf',
    before: 'RangeError: Maximum call stack size exceeded (a shape nested 10,000 deep, JSON.stringify in the message)',
    error: { type: FormatError, where: "tensor 'model.embed_tokens.weight'.shape", message: /must be an array of non-negative integers, got an array/ },
  },
  {
    path: 'config-deep-nesting.json',
    kind: 'config',
    before: 'RangeError: Maximum call stack size exceeded (hidden_size nested 10,000 deep)',
    error: { type: ConfigError, where: 'hidden_size', message: /expected a number, got a list of 1/ },
  },
  {
    path: 'config-rope-theta-beyond-f32.json',
    kind: 'config',
    before: 'accepted: rope_theta 1e39 became Infinity in f32 (silently wrong rotary embeddings)',
    error: { type: ConfigError, where: 'rope_theta', message: /1e\+39 does not fit a 32-bit float/ },
  },
  {
    path: 'config-layer-count-huge.json',
    kind: 'config',
    before: 'RangeError: Invalid array length (num_hidden_layers 2^40 with full_attn_idxs)',
    error: { type: ConfigError, where: 'num_hidden_layers', message: /expected <= 4096, got 1099511627776/ },
  },
  {
    path: 'config-ffn-multiplier-huge.json',
    kind: 'config',
    before: 'accepted: block_ffn_dim_multiplier 1e300 gave an FFN width of 1e303',
    error: { type: ConfigError, where: 'block_ffn_dim_multiplier', message: /expected <= 1000000/ },
  },
  {
    path: 'tokenizer-huge-id',
    kind: 'tokenizer',
    before: 'hang: a vocab id of 2^31 made a 2^31-entry token list (840 s, then out of memory)',
    error: { type: FormatError, where: 'model.vocab', message: /"zz" has id 2147483648 \(expected an integer in 0\.\.2097151\)/ },
  },
  {
    path: 'tokenizer-null-added-token',
    kind: 'tokenizer',
    before: "TypeError: Cannot read properties of null (reading 'content')",
    error: { type: ConfigError, where: 'added_tokens_decoder.1', message: /needs an integer id .* got null/ },
  },
  {
    path: 'tokenizer-unknown-pretokenizer',
    kind: 'tokenizer',
    before: 'Error: Unknown PreTokenizer type: undefined (from @huggingface/tokenizers)',
    error: { type: FormatError, where: '(tokenizer)', message: /@huggingface\/tokenizers cannot use it: Unknown PreTokenizer type/ },
  },
  {
    path: 'tokenizer-bad-split-regex',
    kind: 'tokenizer',
    before: 'SyntaxError: Invalid regular expression, from @huggingface/tokenizers (a 1 MB pattern failed only later, in encode())',
    error: { type: FormatError, where: '(tokenizer)', message: /cannot use it: Invalid regular expression/ },
  },
  {
    path: 'tokenizer-deep-merge',
    kind: 'tokenizer',
    before: 'RangeError: Maximum call stack size exceeded (a merge nested 10,000 deep)',
    error: { type: FormatError, where: 'model.merges', message: /entry 0 a list of 1 is not "left right"/ },
  },
  {
    path: 'tokenizer-bad-post-processor',
    kind: 'tokenizer',
    before: "TypeError: Cannot use 'in' operator to search for 'SpecialToken' in 1, thrown by encode() after the load succeeded",
    error: null,
  },
];
