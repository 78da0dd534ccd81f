// The README's TypeScript snippets, and a type check of them as a user would write them: in their own ES module
// files that import 'lfm.ts', 'lfm.ts/node' and 'lfm.ts/reference'. tests/readme.test.ts checks them against
// the sources (through `paths`); tests/pack/pack.smoke.ts against the packed, installed package.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export const ROOT = join(import.meta.dirname, '..');
export const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The fenced blocks of a language (```ts, ```sh) in order, with the line each starts on. */
export function fencedBlocks(markdown: string, lang: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```' + lang) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

/** Compiler options of a strict user project (those of this repository's tsconfig.json). */
export function userCompilerOptions(extra: ts.CompilerOptions = {}): ts.CompilerOptions {
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  return { ...options, noEmit: true, declaration: false, sourceMap: false, outDir: undefined, rootDir: undefined, typeRoots: [join(ROOT, 'node_modules', '@types')], ...extra };
}

/**
 * Writes each snippet to `dir` as its own module (readme-<line>.mts) and type-checks them; returns one line per
 * diagnostic in a snippet ("README.md:<line>: <message>"), nothing else.
 */
export function typecheckSnippets(dir: string, snippets: { line: number; code: string }[], options: ts.CompilerOptions): string[] {
  mkdirSync(dir, { recursive: true });
  const files = snippets.map((s) => {
    const file = join(dir, `readme-${s.line}.mts`);
    writeFileSync(file, s.code);
    return { file, line: s.line };
  });
  const program = ts.createProgram(files.map((f) => f.file), options);
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const f = files.find((x) => d.file && x.file === d.file.fileName);
    if (d.file && !f) continue; // a library file: not ours to judge here (skipLibCheck is on anyway)
    const where = f && d.file && d.start !== undefined ? `README.md:${f.line + d.file.getLineAndCharacterOfPosition(d.start).line}` : 'options';
    problems.push(`${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  }
  return problems;
}
