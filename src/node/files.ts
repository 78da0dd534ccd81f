// Node adapters for ByteSource and FileSet: a file handle read on demand, and a directory of files.
// Only this folder (and the CLI) may import node: modules.

import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRange, type ByteSource, type FileSet } from '../../reference/bytes.js';

/**
 * Opens a file for random-access reads; the caller closes it. Besides `read`, it offers `readInto` (the
 * ByteSourceReadInto extension the WASM engine uses): bytes go from the file straight into the caller's buffer,
 * e.g. a view of WASM memory, with no JS buffer in between (no garbage, lower peak RSS).
 */
export async function fileSource(path: string): Promise<ByteSource & { readInto(offset: number, target: Uint8Array, what?: string): Promise<void>; close(): Promise<void> }> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  const readInto = async (offset: number, target: Uint8Array, what?: string) => {
    checkRange(path, size, offset, target.length, what);
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await fh.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) checkRange(path, offset + done, offset + done, target.length - done, what); // shrank meanwhile
      done += bytesRead;
    }
  };
  return {
    name: path,
    size,
    readInto,
    async read(offset, length, what) {
      const out = new Uint8Array(length);
      await readInto(offset, out, what);
      return out;
    },
    close: () => fh.close(),
  };
}

/** A directory as a FileSet (an HF model folder). */
export function directoryFileSet(dir: string): FileSet {
  return {
    name: dir,
    async open(file) {
      const path = join(dir, file);
      try {
        if (!(await stat(path)).isFile()) return null;
      } catch {
        return null;
      }
      return fileSource(path);
    },
  };
}
