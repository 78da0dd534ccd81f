// The chat page's script (bundled by build/build-web.ts into web/dist/app.js). No framework: a dozen elements,
// updated in place as events stream in.
//
//   model   a hub id or URL typed in, a .gguf picked or dropped; loadLfm downloads (progress bar), verifies and
//           caches it (Cache API), then the engine reads it in Web Workers (threads when cross-origin isolated)
//   chat    each answer streams: reasoning dimmed in a collapsible block, the answer, tool calls as cards, then
//           tokens/s; Stop aborts between tokens; New chat forgets the conversation
//
// Settings come from ./config.json (written by `lfm web`: the model and the hub endpoint; absent when the folder is
// served as static files) and URL parameters (?model=, ?endpoint=, ?threads=, ?seed=, ?autoload=1), which win.
// Test hooks: data-testid on the controls, `data-state` on the status line, and `window.lfmPage` (below).

import { DEFAULT_MODEL, loadLfm, type BrowserLfm, type ChatMessage, type ChatOptions, type LfmProgress, type ToolDefinition } from '../src/browser/index.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = {
  form: $<HTMLFormElement>('model-form'), model: $<HTMLInputElement>('model'), load: $<HTMLButtonElement>('load'), file: $<HTMLInputElement>('file'),
  status: $('status'), progress: $<HTMLProgressElement>('progress'), engine: $('engine'),
  system: $<HTMLTextAreaElement>('system'), maxTokens: $<HTMLInputElement>('max-tokens'), temperature: $<HTMLInputElement>('temperature'), tools: $<HTMLInputElement>('tools'),
  log: $<HTMLOListElement>('log'), composer: $<HTMLFormElement>('composer'), prompt: $<HTMLTextAreaElement>('prompt'),
  send: $<HTMLButtonElement>('send'), stop: $<HTMLButtonElement>('stop'), newChat: $<HTMLButtonElement>('new-chat'), drop: $('drop'),
};

type State = 'idle' | 'downloading' | 'loading' | 'ready' | 'generating' | 'error';

/** What tests and curious users can read: the state, the model, each generation's outcome. */
const page = {
  state: 'idle' as State,
  lfm: null as BrowserLfm | null,
  generations: [] as { start: number; end: number; finish: string; tokens: number; decodeTokS: number }[],
};
(globalThis as { lfmPage?: typeof page }).lfmPage = page;

const params = new URLSearchParams(location.search);
const config: { model?: string; endpoint?: string; autoload?: boolean } = await fetch('config.json', { cache: 'no-store' })
  .then((r) => (r.ok ? r.json() : {}))
  .catch(() => ({}));
const endpoint = params.get('endpoint') ?? config.endpoint ?? undefined;
const threads = params.has('threads') ? Number(params.get('threads')) : undefined;
const seed = params.has('seed') ? Number(params.get('seed')) : undefined;
el.model.value = params.get('model') ?? config.model ?? DEFAULT_MODEL;

// ---------------------------------------------------------------------------------------------------------------
// Status line and progress bar

function setStatus(state: State, text: string): void {
  page.state = state;
  el.status.dataset.state = state;
  el.status.textContent = text;
  const busy = state === 'downloading' || state === 'loading' || state === 'generating';
  const ready = page.lfm !== null && !busy;
  el.prompt.disabled = !ready && state !== 'generating';
  el.send.disabled = !ready;
  el.stop.disabled = state !== 'generating';
  el.load.disabled = el.file.disabled = busy;
}

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;

function showProgress(p: LfmProgress): void {
  const frac = p.total ? p.loaded / p.total : undefined;
  el.progress.hidden = false;
  if (frac === undefined) el.progress.removeAttribute('value');
  else el.progress.value = frac;
  const pct = frac === undefined ? '' : ` ${(frac * 100).toFixed(0)}%`;
  const of = p.total ? ` of ${mb(p.total)}` : '';
  const rate = p.rate > 0 ? ` · ${mb(p.rate)}/s` : '';
  if (p.phase === 'download') {
    const resumed = p.resumedFrom > 0 ? ` (resumed at ${mb(p.resumedFrom)})` : '';
    setStatus('downloading', `Downloading ${p.file}${pct}: ${mb(p.loaded)}${of}${rate}${resumed}`);
  } else setStatus('loading', `Loading ${p.file} into the engine${pct}${rate}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Loading a model

async function load(model: string | File): Promise<void> {
  stopGeneration();
  await turn;
  const old = page.lfm;
  page.lfm = null;
  await old?.dispose();
  setStatus('loading', `Opening ${typeof model === 'string' ? model : model.name}…`);
  el.engine.textContent = '';
  const t0 = performance.now();
  try {
    const lfm = await loadLfm(model, { onProgress: showProgress, ...(endpoint ? { endpoint } : {}), ...(threads ? { threads } : {}) });
    lfm.render([{ role: 'user', content: 'Hello' }]); // compiles the chat template now, not in the first answer's task
    page.lfm = lfm;
    const from = lfm.source.origin === 'file' ? 'from the file' : lfm.source.downloaded ? 'downloaded' : 'from the cache';
    setStatus('ready', `Ready: ${lfm.name} (${from}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const description = (lfm.engine as { description?: string }).description ?? lfm.engine.kind;
    el.engine.textContent = `engine: ${description}${crossOriginIsolated ? '' : ' · page not cross-origin isolated'}${lfm.source.persisted === false ? ' · storage not persistent' : ''}`;
    el.prompt.focus();
  } catch (e) {
    setStatus('error', `Could not load the model: ${(e as Error).message}`);
  } finally {
    el.progress.hidden = true;
  }
}

el.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const spec = el.model.value.trim();
  if (spec) void load(spec);
});
el.file.addEventListener('change', () => {
  const f = el.file.files?.[0];
  if (f) void load(f);
  el.file.value = '';
});
let dragDepth = 0;
addEventListener('dragenter', (ev) => {
  if (ev.dataTransfer?.types.includes('Files')) el.drop.hidden = ++dragDepth <= 0;
});
addEventListener('dragleave', () => void (el.drop.hidden = --dragDepth <= 0));
addEventListener('dragover', (ev) => ev.preventDefault());
addEventListener('drop', (ev) => {
  ev.preventDefault();
  dragDepth = 0;
  el.drop.hidden = true;
  const f = ev.dataTransfer?.files[0];
  if (f) void load(f);
});

// ---------------------------------------------------------------------------------------------------------------
// Example tools: what the model may call when "Offer example tools" is on. Results go back as tool messages.

const TOOLS: ToolDefinition[] = [
  { type: 'function', function: { name: 'get_time', description: "The current date and time on the user's computer", parameters: { type: 'object', properties: {} } } },
  {
    type: 'function',
    function: { name: 'roll_dice', description: 'Roll a die', parameters: { type: 'object', properties: { sides: { type: 'integer', description: 'Number of sides (2 to 1000)' } }, required: ['sides'] } },
  },
];

function runTool(name: string, args: Record<string, unknown>): unknown {
  if (name === 'get_time') return { time: new Date().toString() };
  if (name === 'roll_dice') {
    const sides = Math.min(1000, Math.max(2, Math.floor(Number(args.sides) || 6)));
    return { sides, result: 1 + Math.floor(Math.random() * sides) };
  }
  return { error: `unknown tool ${name}` };
}

// ---------------------------------------------------------------------------------------------------------------
// The conversation

let history: ChatMessage[] = [];
let running: AbortController | null = null;
let turn: Promise<void> = Promise.resolve(); // the generation in progress, if any

function item(cls: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = cls;
  el.log.append(li);
  return li;
}

function div(cls: string, parent: HTMLElement, text = ''): HTMLDivElement {
  const d = document.createElement('div');
  d.className = cls;
  if (text) d.textContent = text;
  parent.append(d);
  return d;
}

// Follow the stream while the reader is at the bottom; one scroll per frame at most.
let scrollQueued = false;
function follow(): void {
  if (scrollQueued) return;
  const atBottom = innerHeight + scrollY >= document.documentElement.scrollHeight - 80;
  if (!atBottom) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    scrollTo(0, document.documentElement.scrollHeight);
  });
}

/** One assistant turn's elements: reasoning (collapsible, dimmed), answer, tool cards, stats. */
function assistantItem() {
  const li = item('assistant streaming');
  const reasoning = document.createElement('details');
  reasoning.className = 'reasoning';
  reasoning.open = true;
  reasoning.hidden = true;
  reasoning.innerHTML = '<summary>Reasoning</summary>';
  const reasoningText = div('reasoning-text', reasoning);
  li.append(reasoning);
  const answer = div('answer', li);
  answer.dataset.testid = 'answer';
  const tools = div('tools', li);
  const stats = div('stats', li);
  stats.dataset.testid = 'stats';
  const rText = reasoningText.appendChild(document.createTextNode(''));
  const aText = answer.appendChild(document.createTextNode(''));
  return {
    li,
    reasoning(t: string) {
      reasoning.hidden = false;
      rText.appendData(t);
    },
    answer(t: string) {
      if (reasoning.open && !reasoning.hidden && aText.length === 0) reasoning.open = false; // thinking done: fold it
      aText.appendData(t);
    },
    tool(kind: string, text: string, invalid = false) {
      const d = div(`tool${invalid ? ' invalid' : ''}`, tools);
      const k = document.createElement('span');
      k.className = 'kind';
      k.textContent = kind;
      d.append(k, text);
    },
    done(text: string) {
      li.classList.remove('streaming');
      stats.textContent = text;
    },
  };
}

function options(signal: AbortSignal): ChatOptions {
  const o: ChatOptions = { signal };
  const max = Number(el.maxTokens.value);
  if (Number.isInteger(max) && max > 0) o.max_tokens = max;
  const t = Number(el.temperature.value);
  if (el.temperature.value !== '' && Number.isFinite(t) && t >= 0) o.temperature = t;
  if (seed !== undefined && Number.isInteger(seed)) o.seed = seed;
  if (el.tools.checked) o.tools = TOOLS;
  return o;
}

async function send(): Promise<void> {
  const lfm = page.lfm;
  const text = el.prompt.value.trim();
  if (!lfm || !text || running) return;
  el.prompt.value = '';
  item('user').textContent = text;
  history.push({ role: 'user', content: text });
  const ac = (running = new AbortController());
  setStatus('generating', 'Generating…');
  try {
    // A turn may call tools: run them, give back the results, and let the model go on (a few rounds at most).
    for (let round = 0; round < 4; round++) {
      const view = assistantItem();
      follow();
      const system = el.system.value.trim();
      const messages: ChatMessage[] = system ? [{ role: 'system', content: system }, ...history] : history;
      const start = performance.now();
      let result = null;
      for await (const e of lfm.chat(messages, options(ac.signal))) {
        if (e.type === 'reasoning') view.reasoning(e.text);
        else if (e.type === 'answer') view.answer(e.text);
        else if (e.type === 'tool_call') view.tool('tool call', `${e.call.name}(${JSON.stringify(e.call.arguments)})`);
        else if (e.type === 'invalid_tool_call') view.tool('invalid tool call', `${e.call.raw} — ${e.call.error}`, true);
        else result = e.result;
        follow();
      }
      if (!result) throw new Error('the answer ended without a result');
      const u = result.usage;
      const finish = result.finish_reason === 'abort' ? 'stopped' : result.finish_reason;
      view.done(`${u.completion_tokens} tokens · ${u.decode_tokens_per_s.toFixed(1)} tok/s · prompt ${u.prompt_tokens} (${u.cached_prompt_tokens} reused) at ${u.prefill_tokens_per_s.toFixed(0)} tok/s · ${finish}`);
      page.generations.push({ start, end: performance.now(), finish: result.finish_reason, tokens: u.completion_tokens, decodeTokS: u.decode_tokens_per_s });
      history.push(result.message);
      setStatus('ready', result.finish_reason === 'abort' ? `Stopped after ${u.completion_tokens} tokens` : `Done: ${u.completion_tokens} tokens, ${u.decode_tokens_per_s.toFixed(1)} tok/s (${finish})`);
      if (result.finish_reason !== 'tool_calls' || ac.signal.aborted) break;
      for (const call of result.tool_calls) {
        const out = runTool(call.name, call.arguments);
        view.tool('tool result', `${call.name} → ${JSON.stringify(out)}`);
        history.push({ role: 'tool', tool_call_id: call.id, name: call.name, content: JSON.stringify(out) });
      }
      setStatus('generating', 'Generating…');
    }
  } catch (e) {
    setStatus('error', `Generation failed: ${(e as Error).message}`);
  } finally {
    if (running === ac) running = null;
    if (page.state === 'generating') setStatus('ready', 'Ready');
  }
}

function stopGeneration(): void {
  running?.abort();
}

const submit = () => {
  if (!running) turn = send();
};
el.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  submit();
});
el.prompt.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    submit();
  }
});
el.stop.addEventListener('click', stopGeneration);
el.newChat.addEventListener('click', async () => {
  stopGeneration();
  await turn;
  history = [];
  el.log.replaceChildren();
  await page.lfm?.reset();
  el.prompt.focus();
});

setStatus('idle', el.status.textContent ?? '');
if (params.get('autoload') === '1' || config.autoload) void load(el.model.value.trim());
