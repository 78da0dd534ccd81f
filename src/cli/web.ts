// `lfm web`: serves the chat page (web/) on 127.0.0.1, cross-origin isolated, until Ctrl-C.
//
//   lfm web [--model <hub id | URL | file.gguf>] [--host 127.0.0.1] [--port 8080] [-q]
//
// The model runs in the browser, not here: this only serves files. A hub id or URL is handed to the page (which
// downloads it into its own cache); a local .gguf is served at /models/<name>. HF_ENDPOINT is passed on to the
// page. In a checkout the page's script (web/dist/app.js) is rebuilt first when a source is newer.

import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseModelSpec } from '../sources/spec.js';
import { createWebServer, packageWebDir } from '../node/web-server.js';
import { parseCommand, RunError, UsageError, type FlagSpec } from './flags.js';

export const WEB_USAGE = `usage: lfm web [--model <spec>] [--host 127.0.0.1] [--port 8080] [-q]

Serves the chat page: open the address it prints in a browser. The model runs in the page (WebAssembly, in Web
Workers, with threads: the page is served cross-origin isolated), downloaded once into the browser's cache.

  -m, --model <spec>   load this model when the page opens: a hub id (owner/repo:QUANT), an http(s) URL, or a
                       local .gguf file (served to the page); default: the page lets you pick
  --host <addr>        interface to listen on (default 127.0.0.1)
  -p, --port <n>       port (default 8080; 0 picks a free one)
  -q, --quiet          no request log

The hub is HF_ENDPOINT when set (it must allow CORS, as the Hugging Face hub does).
`;

const WEB_FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm' },
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  quiet: { type: 'boolean', short: 'q' },
};

export interface WebIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** `lfm web`; returns -1 for --help (the caller prints WEB_USAGE). */
export async function cmdWeb(argv: string[], io: WebIo, stop: Promise<unknown> = sigint()): Promise<number> {
  const { flags } = parseCommand('web', argv, WEB_FLAGS, 0);
  if (flags.help) return -1;
  const portText = typeof flags.port === 'string' ? flags.port : '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError('web', `--port must be an integer 0..65535, got '${portText}'`);
  const host = typeof flags.host === 'string' ? flags.host : '127.0.0.1';

  let model: string | undefined;
  let modelFile: string | undefined;
  if (typeof flags.model === 'string') {
    const local = resolve(flags.model);
    if (existsSync(local) && statSync(local).isFile()) modelFile = local;
    else {
      const spec = parseModelSpec(flags.model); // a SpecError names the spec
      if (spec.kind === 'file') throw new RunError(`--model ${flags.model}: no such file`);
      if (spec.kind === 'folder') throw new RunError(`--model ${flags.model}: the page loads a .gguf file, a hub id or a URL (not a folder)`);
      model = flags.model;
    }
  }

  const here = dirname(fileURLToPath(import.meta.url));
  const webDir = packageWebDir(here);
  if (!webDir) throw new RunError(`the chat page (web/index.html) is not next to this package (looked up from ${here})`);
  await ensureBundle(webDir, io);

  const endpoint = process.env.HF_ENDPOINT?.trim() || undefined;
  const server = createWebServer({
    webDir, model, modelFile, endpoint,
    onRequest: flags.quiet ? undefined : (r) => io.stderr.write(`${r.method} ${r.path} ${r.status}\n`),
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const addr = server.address() as { port: number };
  const shown = host.includes(':') ? `[${host}]` : host;
  io.stdout.write(`lfm web: http://${shown}:${addr.port}/\n`);
  io.stderr.write(`serving the chat page${modelFile ? ` with ${modelFile}` : model ? ` for ${model}` : ''}${endpoint ? ` (hub: ${endpoint})` : ''}; Ctrl-C stops\n`);
  await stop;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  return 0;
}

function sigint(): Promise<void> {
  return new Promise((r) => process.once('SIGINT', () => r()));
}

/** In a checkout, rebuilds web/dist/app.js when it is missing or stale; an installed package ships it built. */
async function ensureBundle(webDir: string, io: WebIo): Promise<void> {
  const builder = join(webDir, '..', 'build', 'build-web.ts');
  if (existsSync(builder)) {
    try {
      const { buildWeb, webBundleStale } = (await import(/* @vite-ignore */ builder)) as { buildWeb(): Promise<number>; webBundleStale(): boolean };
      if (webBundleStale()) {
        const bytes = await buildWeb();
        io.stderr.write(`built web/dist/app.js (${(bytes / 1024).toFixed(0)} KiB)\n`);
      }
      return;
    } catch (e) {
      if (!existsSync(join(webDir, 'dist', 'app.js'))) throw new RunError(`cannot build the page's script: ${(e as Error).message}`);
    }
  }
  if (!existsSync(join(webDir, 'dist', 'app.js'))) throw new RunError(`${join(webDir, 'dist', 'app.js')} is missing: run \`npm run build:web\``);
}
