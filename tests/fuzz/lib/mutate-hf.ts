// HF folder mutators: the safetensors header (JSON of the wrong shape, offsets that overlap, leave holes or leave
// the file, dtypes and shapes that disagree, duplicate names, the length prefix), tensor data (NaN / Inf), the
// shard index (weight_map), config.json, and the folder itself (a missing or extra file).

import type { FuzzRng } from './census.js';
import { poison } from './mutate-gguf.js';
import { jsonText, mutateBytes, mutateJson, mutateJsonText } from './mutate.js';
import type { Folder } from './seeds.js';
import { GgmlType } from '../../../reference/ggml-type.js';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

interface Parsed {
  header: Record<string, unknown>;
  data: Uint8Array;
}

function parseSt(b: Uint8Array): Parsed {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(utf8d.decode(b.subarray(8, 8 + n))), data: b.subarray(8 + n) };
}

/** A safetensors file from header text and data; the text is padded to 8 bytes unless `unpadded`. */
function buildSt(text: string, data: Uint8Array, unpadded = false): Uint8Array {
  const json = utf8.encode(text);
  const n = unpadded ? json.length : Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  out.set(data, 8 + n);
  return out;
}

const CONFIG_KEYS = [
  'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim',
  'max_position_embeddings', 'norm_eps', 'conv_bias', 'conv_L_cache', 'intermediate_size', 'block_ff_dim',
  'block_auto_adjust_ff_dim', 'block_ffn_dim_multiplier', 'block_multiple_of', 'layer_types', 'full_attn_idxs',
  'rope_theta', 'theta', 'rope_parameters', 'tie_word_embeddings', 'tie_embedding', 'bos_token_id', 'eos_token_id',
  'pad_token_id', 'model_type',
];

/** The config.json fields the loader reads, as JSON paths (with one element of each list). */
export const CONFIG_FOCUS: (string | number)[][] = [
  ...CONFIG_KEYS.map((k) => [k]), ['layer_types', 0], ['layer_types', 1], ['rope_parameters', 'rope_theta'], ['eos_token_id', 0], ['full_attn_idxs', 0],
];

function weightFiles(f: Folder): string[] {
  return Object.keys(f).filter((k) => k.endsWith('.safetensors'));
}

/** NaN / Inf / huge at one element of one F32, F16 or BF16 tensor. */
function poisonSt(r: FuzzRng, b: Uint8Array, log: string[]): Uint8Array {
  const { header, data } = parseSt(b);
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SyntaxError('the header is not an object');
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = r.pick(names);
  const e = header[name] as { dtype: string; data_offsets: [number, number] };
  const type = e.dtype === 'F32' ? GgmlType.F32 : e.dtype === 'F16' ? GgmlType.F16 : GgmlType.BF16;
  const t = { name, dims: [], type, data: data.slice(e.data_offsets[0], e.data_offsets[1]) };
  poison(r, t, log);
  const out = b.slice();
  out.set(t.data, b.length - data.length + e.data_offsets[0]);
  return out;
}

function mutateSt(r: FuzzRng, b: Uint8Array, log: string[]): Uint8Array {
  const { header, data } = parseSt(b);
  // A header an earlier mutation turned into a list or a string: nothing to aim at (its indices are not tensors).
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SyntaxError('the header is not an object');
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  switch (r.weighted([10, 3, 5, 5, 2])) {
    case 0: {
      const name = r.pick(names);
      const focus = [[name, 'dtype'], [name, 'shape'], [name, 'shape', 0], [name, 'data_offsets'], [name, 'data_offsets', 0], [name, 'data_offsets', 1], ['__metadata__'], ['__metadata__', 'format'], [name]];
      const h = mutateJson(r, header, log, focus);
      return buildSt(jsonText(h), data, r.chance(0.1));
    }
    case 1: {
      // Duplicate a tensor entry under its own name (JSON keeps the last) or two entries at one offset range.
      const a = r.pick(names);
      const text = jsonText(header);
      const entry = `${JSON.stringify(a)}:${jsonText(header[a])}`;
      const other = r.pick(names);
      const dup = r.chance(0.5) ? entry : `${JSON.stringify(other)}:${jsonText({ ...(header[other] as object), data_offsets: (header[a] as { data_offsets: unknown }).data_offsets })}`;
      log.push(`header: add entry ${dup.slice(0, 60)}`);
      return buildSt(`{${dup},${text.slice(1)}`, data);
    }
    case 2:
      return buildSt(mutateJsonText(r, jsonText(header), log), data);
    case 3:
      return poisonSt(r, b, log);
    default: {
      // A valid file with the entries in another order.
      const order = [...Object.keys(header)].sort(() => r.uniform() - 0.5);
      log.push('header: entries reordered');
      return buildSt(jsonText(Object.fromEntries(order.map((k) => [k, header[k]]))), data);
    }
  }
}

/** One to two mutations of an HF folder (file contents are replaced, never changed in place). */
export function mutateHf(r: FuzzRng, seed: Folder, log: string[]): Folder {
  const f: Folder = { ...seed };
  const n = r.chance(0.8) ? 1 : 2;
  for (let i = 0; i < n; i++) {
    try {
      mutateOnce(r, f, log);
    } catch (e) {
      // A second mutation of a file the first one broke: nothing left to parse.
      if (!(e instanceof SyntaxError || e instanceof RangeError || e instanceof TypeError) || i === 0) throw e;
      log.push('(second mutation skipped: the file no longer parses)');
    }
  }
  return f;
}

function mutateOnce(r: FuzzRng, f: Folder, log: string[]): void {
  {
    const op = r.weighted([4, 2, 16, 6, f['model.safetensors.index.json'] ? 5 : 0, 1]);
    if (op === 0) {
      if (typeof f['config.json'] !== 'string') throw new SyntaxError('no config.json');
      f['config.json'] = jsonText(mutateJson(r, JSON.parse(f['config.json']), log, CONFIG_FOCUS), true);
    } else if (op === 1) {
      if (typeof f['config.json'] !== 'string') throw new SyntaxError('no config.json');
      f['config.json'] = mutateJsonText(r, f['config.json'] as string, log);
    } else if (op === 2 || op === 3) {
      if (weightFiles(f).length === 0) throw new TypeError('no weight file');
      const file = r.pick(weightFiles(f));
      log.push(`in ${file}:`);
      const b = f[file] as Uint8Array;
      if (op === 2) f[file] = mutateSt(r, b, log);
      else {
        const n8 = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
        f[file] = mutateBytes(r, b, { headerEnd: 8 + n8, fields: [{ kind: 'count', pos: 0, size: 8, label: 'header length' }] }, log);
      }
    } else if (op === 4) {
      if (typeof f['model.safetensors.index.json'] !== 'string') throw new SyntaxError('no index');
      const idx = JSON.parse(f['model.safetensors.index.json'] as string) as { weight_map: Record<string, string> };
      const t = r.pick(Object.keys(idx.weight_map));
      const focus = [['weight_map'], ['weight_map', t], ['metadata'], ['weight_map', t]];
      if (r.chance(0.3)) {
        idx.weight_map[t] = r.pick(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', '../model.safetensors', 'missing.safetensors', '', 'config.json']);
        log.push(`index: ${t} -> ${idx.weight_map[t]}`);
        f['model.safetensors.index.json'] = JSON.stringify(idx);
      } else if (r.chance(0.7)) f['model.safetensors.index.json'] = jsonText(mutateJson(r, idx, log, focus));
      else f['model.safetensors.index.json'] = mutateJsonText(r, f['model.safetensors.index.json'] as string, log);
    } else {
      const file = r.pick(Object.keys(f));
      if (r.chance(0.5)) {
        log.push(`remove ${file}`);
        delete f[file];
      } else {
        const to = r.pick(['model.safetensors', 'model.safetensors.index.json', 'config.json']);
        log.push(`${to} := contents of ${file}`);
        f[to] = f[file];
      }
    }
  }
}
