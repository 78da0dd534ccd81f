// GGUF mutators: structural edits of the editable record (metadata values of the wrong type, alignment, tensor
// dims / types / offsets / names, NaN and Inf weights), then byte-level damage aimed at the header's fields.

import { GGML_TYPES, GgmlType } from '../../../reference/ggml-type.js';
import { gv, GgufValueType as VT } from '../../../reference/gguf.js';
import { dequantize, quantize } from '../../../reference/quant.js';
import type { FuzzRng } from './census.js';
import { cloneRawGguf, writeRawGguf, type RawGguf, type RawTensor, type Written } from './gguf-raw.js';
import { mutateBytes } from './mutate.js';
import { EDGE_INTS, nearInt, randomGgufValue } from './values.js';

/** The metadata keys the loaders read. */
const FOCUS_KEYS = [
  'general.architecture', 'general.alignment', 'lfm2.block_count', 'lfm2.context_length', 'lfm2.embedding_length',
  'lfm2.feed_forward_length', 'lfm2.attention.head_count', 'lfm2.attention.head_count_kv', 'lfm2.rope.freq_base',
  'lfm2.attention.layer_norm_rms_epsilon', 'lfm2.vocab_size', 'lfm2.shortconv.l_cache', 'lfm2.attention.key_length',
  'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.padding_token_id',
];

/** A NaN, an Inf or a huge value written into one element or one block scale of `t` (data copied first). */
export function poison(r: FuzzRng, t: RawTensor, log: string[]): void {
  const data = (t.data = t.data.slice());
  const info = GGML_TYPES.get(t.type);
  if (!info || data.length === 0) return;
  const blocks = data.length / info.typeSize;
  const b = r.int(blocks) * info.typeSize;
  const dv = new DataView(data.buffer);
  const f16 = () => r.pick([0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0x7bff]);
  let what: string;
  switch (t.type) {
    case GgmlType.F32: {
      const v = r.pick([NaN, Infinity, -Infinity, 3.4e38, 1e30, -1e20]);
      dv.setFloat32(b, v, true);
      if (r.chance(0.3)) dv.setUint32(b, 0x7fc00001, true); // a NaN with a payload
      what = `element ${b / 4} := ${dv.getFloat32(b, true)}`;
      break;
    }
    case GgmlType.F16: {
      const h = f16();
      dv.setUint16(b, h, true);
      what = `element ${b / 2} := f16 0x${h.toString(16)}`;
      break;
    }
    case GgmlType.BF16: {
      const h = r.pick([0x7f80, 0xff80, 0x7fc0, 0x7f81, 0x7f7f]);
      dv.setUint16(b, h, true);
      what = `element ${b / 2} := bf16 0x${h.toString(16)}`;
      break;
    }
    default: {
      // The f16 scale fields of each block layout (reference/quant.ts).
      const fields: Record<number, number[]> = { [GgmlType.Q4_0]: [0], [GgmlType.Q8_0]: [0], [GgmlType.Q4_K]: [0, 2], [GgmlType.Q5_K]: [0, 2], [GgmlType.Q6_K]: [208] };
      const o = r.pick(fields[t.type] ?? [0]);
      const h = f16();
      dv.setUint16(b + o, h, true);
      what = `block ${b / info.typeSize} scale@${o} := f16 0x${h.toString(16)}`;
    }
  }
  log.push(`poison ${t.name} (${info.name}) ${what}`);
}

/** Re-encodes a tensor in another stored type (a valid file with an unusual type), when the shape allows it. */
function retype(t: RawTensor, to: number): boolean {
  const from = GGML_TYPES.get(t.type);
  const info = GGML_TYPES.get(to);
  if (!from?.supported || !info || ![GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0].includes(to as 0)) return false;
  const n = (t.data.length / from.typeSize) * from.blockSize;
  // (an earlier mutation may have cut the data to a part of a block: no valid re-encoding then)
  if (!Number.isSafeInteger(n) || n % from.blockSize !== 0 || Number(t.dims[0]) % info.blockSize !== 0) return false;
  t.data = quantize(to, dequantize(t.type, t.data, n));
  t.type = to;
  return true;
}

function structural(r: FuzzRng, g: RawGguf, log: string[]): void {
  const tensor = () => r.pick(g.tensors);
  const op = r.weighted([14, 3, 2, 2, 4, 6, 4, 5, 4, 2, 2, 9, 2, 2]);
  switch (op) {
    case 0: {
      const keys = g.kvs.map(([k]) => k);
      const key = r.chance(0.8) ? r.pick(FOCUS_KEYS) : r.pick(keys);
      const i = g.kvs.findIndex(([k]) => k === key);
      const v = randomGgufValue(r, i >= 0 ? g.kvs[i][1] : undefined);
      if (i >= 0) g.kvs[i] = [key, v];
      else g.kvs.push([key, v]);
      log.push(`${key} := ${describeValue(v)}`);
      return;
    }
    case 1: {
      const key = r.chance(0.7) ? r.pick(FOCUS_KEYS) : r.pick(g.kvs)[0];
      g.kvs = g.kvs.filter(([k]) => k !== key);
      log.push(`delete ${key}`);
      return;
    }
    case 2: {
      const kv = r.pick(g.kvs);
      g.kvs.splice(r.int(g.kvs.length + 1), 0, [kv[0], kv[1]]);
      log.push(`duplicate key ${kv[0]}`);
      return;
    }
    case 3: {
      const i = r.int(g.kvs.length);
      const to = r.chance(0.5) ? r.pick(g.kvs)[0] : r.pick(['', 'lfm2', 'llama.block_count', `${g.kvs[i][0]}\u0000`, 'x'.repeat(300)]);
      log.push(`rename key ${g.kvs[i][0]} -> ${to.slice(0, 40)}`);
      g.kvs[i] = [to, g.kvs[i][1]];
      return;
    }
    case 4: {
      // general.alignment: another value, or another type; half the time the file is laid out for it (valid),
      // half the time only the key changes (the data section is then where the old alignment put it: shifted).
      const a = r.pick([0, 1, 2, 3, 4, 8, 16, 48, 64, 128, 256, 4096, 2 ** 31, 0xffffffff]);
      const v = r.chance(0.85) ? gv.u32(a) : r.pick([gv.u64(a), gv.i32(a | 0), gv.str(String(a)), gv.f32(a)]);
      g.kvs = g.kvs.filter(([k]) => k !== 'general.alignment');
      g.kvs.splice(r.int(g.kvs.length + 1), 0, ['general.alignment', v]);
      const relayout = v.type === VT.UINT32 && a > 0 && a <= 4096 && (a & (a - 1)) === 0 && r.chance(0.5);
      if (relayout) g.alignment = a;
      log.push(`general.alignment := ${describeValue(v)}${relayout ? ' (file laid out for it)' : ' (layout unchanged)'}`);
      return;
    }
    case 5: {
      const t = tensor();
      const k = r.int(4);
      if (k === 0 && t.dims.length > 0) {
        const d = r.int(t.dims.length);
        t.dims[d] = nearInt(r, Number(t.dims[d]));
      } else if (k === 1) t.dims.reverse();
      else if (k === 2) t.dims.push(r.pick([1, 2, 0]));
      else if (t.dims.length > 0) t.dims.splice(r.int(t.dims.length), 1);
      if (r.chance(0.1)) t.dims[0] = r.pick([2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, 0n]);
      log.push(`dims of ${t.name} := [${t.dims.join(', ')}]`);
      return;
    }
    case 6: {
      const t = tensor();
      const to = r.pick([0, 1, 2, 3, 6, 8, 10, 12, 13, 14, 15, 16, 30, 31, 39, 99, 0xffffffff]);
      const valid = r.chance(0.5) && retype(t, to);
      if (!valid) t.type = to;
      log.push(`type of ${t.name} := ${to}${valid ? ' (re-encoded)' : ''}`);
      return;
    }
    case 7: {
      const t = tensor();
      const other = tensor();
      const cands: (number | bigint)[] = [0, g.alignment, 1, 2 ** 32, 2 ** 40, 2n ** 63n, 2n ** 64n - 1n, r.pick(EDGE_INTS)];
      const off = r.chance(0.4) ? Number(other.offset ?? 0) : r.pick(cands);
      t.offset = off;
      log.push(`offset of ${t.name} := ${off}`);
      return;
    }
    case 8: {
      const t = tensor();
      const to = r.pick([r.pick(g.tensors).name, 'output_norm.weight', 'output.weight', 'blk.9.attn_q.weight', 'blk.0.attn_q.weight', '', 'w'.repeat(100), `${t.name}.bak`]);
      log.push(`rename tensor ${t.name} -> ${to.slice(0, 40)}`);
      t.name = to;
      return;
    }
    case 9: {
      const i = r.int(g.tensors.length);
      log.push(`drop tensor ${g.tensors[i].name}`);
      g.tensors.splice(i, 1);
      return;
    }
    case 10: {
      const t = tensor();
      const name = r.pick(['output.weight', 'extra.weight', t.name, 'blk.1.shortconv.conv.weight']);
      g.tensors.splice(r.int(g.tensors.length + 1), 0, { ...t, name, dims: [...t.dims] });
      log.push(`add tensor ${name} (copy of ${t.name})`);
      return;
    }
    case 11:
      poison(r, tensor(), log);
      return;
    case 12: {
      // Infos in another order than the data (a valid file), or two tensors' data swapped (a shape error).
      const i = r.int(g.tensors.length);
      const j = r.int(g.tensors.length);
      if (r.chance(0.5)) {
        [g.tensors[i], g.tensors[j]] = [g.tensors[j], g.tensors[i]];
        log.push(`reorder tensors ${i} <-> ${j}`);
      } else {
        [g.tensors[i].data, g.tensors[j].data] = [g.tensors[j].data, g.tensors[i].data];
        log.push(`swap data of ${g.tensors[i].name} and ${g.tensors[j].name}`);
      }
      return;
    }
    default:
      g.version = r.pick([0, 1, 2, 4, 0x03000000]);
      log.push(`version := ${g.version}`);
  }
}

function describeValue(v: { type: number; itemType?: number; value: unknown }): string {
  if (v.type === VT.ARRAY) return `ARRAY of type ${v.itemType} (${(v.value as ArrayLike<unknown>).length} items)`;
  return `type ${v.type} ${String(v.value).slice(0, 30)}`;
}

/** One fuzz input: structural edits (about half the cases), then byte-level damage. */
const written = new WeakMap<RawGguf, Written>();

export function mutateGguf(r: FuzzRng, seed: RawGguf, log: string[]): Uint8Array {
  const g = cloneRawGguf(seed);
  const nStruct = r.chance(0.55) ? r.between(1, 2) : 0;
  for (let i = 0; i < nStruct; i++) if (g.tensors.length > 0 && g.kvs.length > 0) structural(r, g, log);
  let w = nStruct === 0 ? written.get(seed) : undefined;
  if (!w) {
    w = writeRawGguf(g);
    if (nStruct === 0) written.set(seed, w);
  }
  let bytes = w.bytes;
  const nBytes = nStruct === 0 ? r.between(1, 3) : r.chance(0.2) ? 1 : 0;
  // The tokenizer's ~700 strings would draw most byte mutations; aim nine in ten at the fields the loaders use.
  const model = w.fields.filter((f) => !f.label.startsWith('tokenizer.'));
  const fields = r.chance(0.9) && model.length > 0 ? model : w.fields;
  for (let i = 0; i < nBytes; i++) bytes = mutateBytes(r, bytes, { headerEnd: w.dataOffset, fields }, log);
  return bytes;
}
