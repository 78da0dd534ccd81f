// Byte sources: random access to a file's bytes without holding the whole file in one ArrayBuffer.
//
// A GGUF or safetensors reader first reads a small header, then each tensor's bytes on demand. The same reader
// must work over a Node file handle, a browser Blob/File, or bytes already in memory, so the format code sees
// only this interface. Node's file-handle adapter lives in src/node/ (core code never imports `fs`).

import { FormatError } from './errors.js';

export interface ByteSource {
  /** A name for error messages (a path, a URL, or a label). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Exactly `length` bytes starting at `offset`. Rejects with a FormatError when the range leaves the source
   * (a truncated file), naming `what` was being read.
   */
  read(offset: number, length: number, what?: string): Promise<Uint8Array>;
  /** Release the underlying handle, if any. */
  close?(): Promise<void>;
}

/** Throws the standard "truncated" error when [offset, offset+length) is not inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number, what = 'data'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError(name, what, `invalid byte range offset=${offset} length=${length}`);
  }
  if (offset + length > size) {
    throw new FormatError(
      name,
      what,
      `needs bytes ${offset}..${offset + length} but the file has only ${size} bytes (truncated or corrupt file)`,
    );
  }
}

/** A source over bytes already in memory (tests, small files, fetched buffers). Reads are zero-copy views. */
export function bytesSource(bytes: Uint8Array | ArrayBuffer, name = 'memory'): ByteSource {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return {
    name,
    size: u8.byteLength,
    async read(offset, length, what) {
      checkRange(name, u8.byteLength, offset, length, what);
      return u8.subarray(offset, offset + length);
    },
  };
}

/**
 * A source over a Blob or File (browsers, Deno, Bun, Node >= 20): reads slice the blob, never load it whole.
 * `readInto` streams the slice into the caller's buffer (the engine's memory) through one reused 1 MiB buffer (a
 * BYOB reader where the blob's stream is a byte stream, as in Chromium), so loading a model leaves no garbage behind:
 * an `arrayBuffer()` per few-MiB read, or the default reader's fresh chunks, piled up 250 MiB of garbage in a
 * page's heap while a 630 MiB model loaded from the Cache API.
 */
export function blobSource(blob: Blob, name = (blob as { name?: string }).name ?? 'blob'): ByteSource & { readInto(offset: number, target: Uint8Array, what?: string): Promise<void> } {
  let spare: ArrayBuffer | null = null; // the reused buffer of BYOB reads (taken while in use)
  return {
    name,
    size: blob.size,
    async read(offset, length, what) {
      checkRange(name, blob.size, offset, length, what);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async readInto(offset, target, what) {
      checkRange(name, blob.size, offset, target.length, what);
      const stream = blob.slice(offset, offset + target.length).stream();
      let at = 0;
      const put = (chunk: Uint8Array) => {
        if (at + chunk.length > target.length) throw new FormatError(name, what ?? 'data', `the blob gave more than the ${target.length} bytes asked for`);
        target.set(chunk, at);
        at += chunk.length;
      };
      let byob: ReadableStreamBYOBReader | null = null;
      try {
        byob = stream.getReader({ mode: 'byob' });
      } catch {
        // not a byte stream here: plain chunks
      }
      if (byob) {
        let buf = spare ?? new ArrayBuffer(1 << 20);
        spare = null;
        try {
          for (;;) {
            const { done, value } = await byob.read(new Uint8Array(buf, 0, Math.min(buf.byteLength, Math.max(1, target.length - at))));
            if (value) buf = value.buffer as ArrayBuffer; // the same memory, handed back
            if (done) break;
            put(value);
          }
        } finally {
          byob.releaseLock();
        }
        spare = buf;
      } else {
        const reader = stream.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            put(value);
          }
        } finally {
          reader.releaseLock();
        }
      }
      if (at !== target.length) throw new FormatError(name, what ?? 'data', `read ${at} of ${target.length} bytes (the file changed or was truncated)`);
    },
  };
}

/** A set of named files (an HF model folder). Core code loads folders through this; src/node adapts a directory. */
export interface FileSet {
  readonly name: string;
  /** The file, or null when it does not exist. */
  open(file: string): Promise<ByteSource | null>;
}

/** Reads a whole (small) file of a FileSet as UTF-8 text, or null when absent. */
export async function readText(files: FileSet, file: string): Promise<string | null> {
  const src = await files.open(file);
  if (!src) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await src.read(0, src.size, file));
  } catch (e) {
    if (e instanceof TypeError) throw new FormatError(`${files.name}/${file}`, 'text', 'is not valid UTF-8');
    throw e;
  } finally {
    await src.close?.();
  }
}

/** A FileSet over in-memory files (tests, browsers with a dropped folder). */
export function memoryFileSet(files: Record<string, Uint8Array | string>, name = 'memory'): FileSet {
  return {
    name,
    async open(file) {
      const v = files[file];
      if (v === undefined) return null;
      return bytesSource(typeof v === 'string' ? new TextEncoder().encode(v) : v, `${name}/${file}`);
    },
  };
}
