// Node adapters for ByteSource and FileSet: a file handle read on demand, and a directory of files.
// Only this folder (and the CLI) may import node: modules.

import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRange, type ByteSource, type FileSet } from '../../reference/bytes.js';

/** Opens a file for random-access reads; the caller closes it. */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    async read(offset, length, what) {
      checkRange(path, size, offset, length, what);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, offset + done);
        if (bytesRead === 0) checkRange(path, offset + done, offset + done, length - done, what);
        done += bytesRead;
      }
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
