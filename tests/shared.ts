// Access to ../shared (real LiquidAI config files and templates). It is not part of a clone, so every test
// that reads it must skip, and say why, when it is absent.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** ../shared/assets/lfm2-tokenizer, or null when ../shared is absent (a fresh clone). */
export const SHARED_ASSETS: string | null = (() => {
  const dir = join(import.meta.dirname, '..', '..', 'shared', 'assets', 'lfm2-tokenizer');
  return existsSync(dir) ? dir : null;
})();

export const SHARED_SKIP_REASON = '../shared/assets/lfm2-tokenizer is absent (fresh clone): skipping tests on the real LiquidAI files';
if (!SHARED_ASSETS) console.warn(SHARED_SKIP_REASON);
