// Loading an LFM2 model's weights into the oracle's f32 structure, from a GGUF file or an HF folder.
//
// Both formats are seen through `TensorSource` (names, HF-order shapes, f32 reads), so the checks are written
// once: every tensor the config implies must be present with its exact shape, and a tensor the config does not
// imply (an attention weight in a conv layer, a layer past block_count, a stray name) is an error, not ignored.
// The FFN width gets its own message, since a wrong width rule (12288 instead of 8192) is the classic trap.

import { deriveDims, type Lfm2Config, type Lfm2Dims } from './config.js';
import { TensorError } from './errors.js';
import { GLOBAL_TENSORS, LAYER_TENSORS, LM_HEAD, type TensorNameEntry } from './tensor-names.js';
import type { Lfm2LayerWeights, Lfm2Weights } from './model.js';

/** A model file's tensors, whatever the format. Shapes are in HF order (outermost first). */
export interface TensorSource {
  readonly name: string;
  readonly naming: 'hf' | 'gguf';
  names(): string[];
  /** Shape in HF order, or undefined when the tensor is absent. */
  shape(name: string): number[] | undefined;
  /** Stored type, for messages and resident-size reports (e.g. "Q4_0", "BF16"). */
  typeName(name: string): string;
  readF32(name: string): Promise<Float32Array>;
}

/** Called after each tensor is read: `loaded` of `total` tensors. */
export type LoadProgress = (p: { tensor: string; loaded: number; total: number }) => void;

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** What name and shape checks need from a model file's tensors (TensorSource and the engine's raw reader have it). */
export type TensorNames = Pick<TensorSource, 'name' | 'naming' | 'names' | 'shape'>;

/** The stored name of a table entry in this source (GGUF aliases included), or undefined when absent. */
function findName(src: TensorNames, e: TensorNameEntry, layer: number | null): string | undefined {
  const cands =
    src.naming === 'hf'
      ? [layer === null ? e.hf : `model.layers.${layer}.${e.hf}`]
      : [e.gguf, ...(e.ggufAliases ?? [])].map((g) => (layer === null ? g : `blk.${layer}.${g}`));
  return cands.find((n) => src.shape(n) !== undefined);
}

/** Shape check; the HF conv kernel (D, 1, Lc) is accepted as (D, Lc). */
function checkShape(src: TensorNames, name: string, want: number[], d: Lfm2Dims): void {
  let got = src.shape(name)!;
  if (got.length === 3 && got[1] === 1 && want.length === 2) got = [got[0], got[2]];
  if (sameShape(got, want)) return;
  let hint = '';
  if (/w1|w3|ffn_gate|ffn_up/.test(name) && got[1] === want[1]) {
    hint = ` — the FFN width from the config is ${d.F} but the weights have ${got[0]}; check block_ff_dim / intermediate_size and block_auto_adjust_ff_dim (spec §1.2)`;
  }
  throw new TensorError(src.name, name, `expected shape [${want.join(', ')}] (HF order), got [${src.shape(name)!.join(', ')}]${hint}`);
}

/**
 * Matches a file's tensors to the names and shapes the config implies, once for every loader (the oracle's and
 * the WASM engine's). `resolve` returns a table entry's stored name and expected HF-order shape, or throws a
 * TensorError for a missing or misshapen tensor; `has` tells whether an optional one (lm_head) is there;
 * `checkNoneLeft` throws for any tensor never resolved (a stray or misplaced tensor is an error, not ignored).
 */
export function tensorResolver(src: TensorNames, d: Lfm2Dims) {
  const used = new Set<string>();
  return {
    resolve(e: TensorNameEntry, layer: number | null): { name: string; shape: number[] } {
      const name = findName(src, e, layer);
      if (!name) {
        const shown = src.naming === 'hf' ? (layer === null ? e.hf : `model.layers.${layer}.${e.hf}`) : layer === null ? e.gguf : `blk.${layer}.${e.gguf}`;
        const where = layer === null ? '' : ` (layer ${layer} is a ${d.layerTypes[layer]} layer)`;
        throw new TensorError(src.name, shown, `is missing${where}`);
      }
      const shape = e.shape(d);
      checkShape(src, name, shape, d);
      used.add(name);
      return { name, shape };
    },
    has: (e: TensorNameEntry, layer: number | null) => findName(src, e, layer) !== undefined,
    /** How many tensors have been resolved so far. */
    get resolved() {
      return used.size;
    },
    checkNoneLeft(): void {
      const left = src.names().filter((n) => !used.has(n));
      if (left.length > 0) {
        throw new TensorError(src.name, left[0], `is not part of an LFM2 model with this config (${d.nLayers} layers, types ${d.layerTypes.join(',')})${left.length > 1 ? `; ${left.length - 1} more unexpected tensors` : ''}`);
      }
    },
  };
}

/**
 * Reads every weight as f32 and checks names and shapes against the config. Throws TensorError naming the
 * file and tensor for a missing, misshapen or unexpected tensor.
 */
export async function loadWeights(src: TensorSource, config: Lfm2Config, onProgress?: LoadProgress): Promise<Lfm2Weights> {
  const d = deriveDims(config);
  const tensors = tensorResolver(src, d);
  const total = src.names().length;
  const need = async (e: TensorNameEntry, layer: number | null): Promise<Float32Array> => {
    const { name, shape: want } = tensors.resolve(e, layer);
    const data = await src.readF32(name);
    onProgress?.({ tensor: name, loaded: tensors.resolved, total });
    if (data.length !== want.reduce((a, b) => a * b, 1)) throw new TensorError(src.name, name, `read ${data.length} values, expected ${want.join('x')}`);
    return data;
  };

  const [embed, embedding_norm] = [await need(GLOBAL_TENSORS[0], null), await need(GLOBAL_TENSORS[1], null)];
  const lm_head = tensors.has(LM_HEAD, null) ? await need(LM_HEAD, null) : embed;

  const layers: Lfm2LayerWeights[] = [];
  for (let l = 0; l < d.nLayers; l++) {
    const kind = d.layerTypes[l] === 'conv' ? 'conv' : 'attention';
    const get = (hf: string) => need(LAYER_TENSORS.find((e) => e.hf === hf)!, l);
    const lw: Lfm2LayerWeights = {
      operator_norm: await get('operator_norm.weight'),
      ffn_norm: await get('ffn_norm.weight'),
      feed_forward: { w1: await get('feed_forward.w1.weight'), w3: await get('feed_forward.w3.weight'), w2: await get('feed_forward.w2.weight') },
    };
    if (kind === 'conv') {
      lw.conv = { in_proj: await get('conv.in_proj.weight'), conv: await get('conv.conv.weight'), out_proj: await get('conv.out_proj.weight') };
    } else {
      lw.self_attn = {
        q_proj: await get('self_attn.q_proj.weight'),
        k_proj: await get('self_attn.k_proj.weight'),
        v_proj: await get('self_attn.v_proj.weight'),
        out_proj: await get('self_attn.out_proj.weight'),
        q_layernorm: await get('self_attn.q_layernorm.weight'),
        k_layernorm: await get('self_attn.k_layernorm.weight'),
      };
    }
    layers.push(lw);
  }

  tensors.checkNoneLeft();
  return { embed_tokens: embed, embedding_norm, lm_head, layers };
}
