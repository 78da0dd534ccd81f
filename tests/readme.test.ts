// README.md cannot rot: its TypeScript snippets type-check as written (against the sources, as 'lfm.ts' resolves
// once installed), and its offline `lfm` commands run, in order, exactly as a newcomer would paste them.
// The packed package is checked the same way by `npm run test:pack` (tests/pack/pack.smoke.ts).

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { fencedBlocks, README, ROOT, typecheckSnippets, userCompilerOptions } from './readme-snippets.js';

const dir = mkdtempSync(join(tmpdir(), 'lfm-readme-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README TypeScript snippets', () => {
  it('type-check as written (strict), importing lfm.ts, lfm.ts/node and lfm.ts/reference', () => {
    const snippets = fencedBlocks(README, 'ts');
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    const paths = { 'lfm.ts': ['./src/index.ts'], 'lfm.ts/node': ['./src/node/index.ts'], 'lfm.ts/reference': ['./reference/index.ts'], 'lfm.ts/browser': ['./src/browser/index.ts'] };
    const problems = typecheckSnippets(join(dir, 'snippets'), snippets, userCompilerOptions({ baseUrl: ROOT, paths }));
    expect(problems).toEqual([]);
    for (const s of snippets) expect(s.code, `README.md:${s.line}: import the package, not the checkout`).not.toMatch(/from '\.\.?\//);
  });
});

/** The words of a shell command line (plain words, "double" and 'single' quotes; a `#` word starts a comment). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[3]?.startsWith('#')) break;
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
  }
  return words;
}

/** Every `npm run lfm -- ...` command in the README's sh blocks, as argv, in order. */
const commands = fencedBlocks(README, 'sh').flatMap((b) =>
  b.code.split('\n').flatMap((line, i) => {
    const at = line.indexOf('npm run lfm -- ');
    return at < 0 ? [] : [{ line: b.line + i, argv: shellWords(line.slice(at + 'npm run lfm -- '.length)) }];
  }),
);

/** Why a README command is not run here, or null to run it (offline, on the models the README makes in /tmp). */
function skipReason(argv: string[]): string | null {
  const model = argv[argv.indexOf('--model') + 1];
  if (argv[0] === 'chat' || argv[0] === 'serve') return 'interactive / long-running';
  if (argv.includes('lfm2.5-1.2b')) return 'the full-size model (700 MB, minutes): a benchmark input';
  if (argv[0] === 'synth') return null;
  if (!argv.includes('--model') || !model.startsWith('/tmp/')) return 'needs the hub or a real model file';
  return null;
}

describe('README lfm commands', () => {
  it('the offline ones run in order as written (/tmp/ mapped to a temp folder), and the logits have T x V floats', async () => {
    const ran: string[] = [];
    for (const c of commands) {
      if (skipReason(c.argv) !== null) continue;
      const argv = c.argv.map((a) => a.replace(/^\/tmp\//, `${dir}/`));
      let out = '';
      let err = '';
      const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
      expect(code, `README.md:${c.line}: lfm ${c.argv.join(' ')}\n${err}${out}`).toBe(0);
      if (argv[0] === 'logits') {
        const [, T, V] = /T=(\d+) V=(\d+)/.exec(err) ?? [];
        expect(Number(T)).toBe(argv[argv.indexOf('--tokens') + 1].split(',').length);
        expect(statSync(argv[argv.indexOf('--out') + 1]).size).toBe(Number(T) * Number(V) * 4);
      }
      ran.push(c.argv[0]);
    }
    // What the README promises a newcomer can do without a network: make models, dump logits, chat.
    expect(ran.filter((c) => c === 'synth').length).toBeGreaterThanOrEqual(2);
    expect(ran.filter((c) => c === 'logits').length).toBeGreaterThanOrEqual(2);
    expect(ran).toContain('run');
    const skipped = commands.filter((c) => skipReason(c.argv) !== null).map((c) => `README.md:${c.line} (${skipReason(c.argv)})`);
    console.log(`ran ${ran.length} README commands; not run here: ${skipped.join(', ')}`);
  });
});
