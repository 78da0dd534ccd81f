// Resumable, verified downloads into a CacheStore, over global fetch (Node 20+, Deno, Bun, browsers, workers).
//
//   begin(key) ─ partial of N bytes (0 when new) ─ re-hash those N bytes ─┐
//   ┌──────────────────────────────────────────────────────────────────────┘
//   └─ GET url [Range: bytes=N-] ─ 206: append from N │ 200: server ignored Range, truncate to 0 and start over
//                                 │ 416: N is already the whole file (or the partial is junk: start over)
//      stream chunks → append + hash; a cut connection or a short body → retry with Range from the new N
//   ─ size == expected? sha256 == expected? ─ yes: commit (atomic) │ no: discard the partial, IntegrityError
//
// Errors: IntegrityError (wrong size or hash: the partial is deleted, nothing is cached), DownloadAbortedError
// (the signal fired: the partial is kept, the next call resumes), DownloadError (HTTP status, or the network
// failed `retries` times in a row without progress: the partial is kept), or what `httpError` maps a status to.
// A connection that goes silent for `idleTimeoutMs` counts as cut (Node's fetch has 300 s timeouts; browsers none).
//
// Deliberately left out: parallel range requests, and cross-process locking (two processes downloading the same
// key into one cache folder would interleave appends; the hash check then rejects the result).

import { checkCacheKey, concatBytes, type CacheEntryInfo, type CacheStore, type PartialEntry } from './cache-store.js';
import { DownloadAbortedError, DownloadError, IntegrityError } from './errors.js';
import { Sha256, type StreamingHash } from './sha256.js';

export interface DownloadProgress {
  /** The file label (a repo path or a URL's file name). */
  file: string;
  /** Bytes of the file held so far, resumed bytes included. */
  loaded: number;
  /** The file's size, when known. */
  total: number | undefined;
  /** Bytes that were already there when this transfer began (0 after a restart from scratch). */
  resumedFrom: number;
}

export interface DownloadRequest {
  url: string;
  /** Cache key of the entry (see cache-store.ts). */
  key: string;
  /** Label for progress events; default: the key. */
  file?: string;
  /** Expected size in bytes; when absent, the server's Content-Length / Content-Range is used. */
  size?: number;
  /** Expected lowercase hex sha256 of the whole file. */
  sha256?: string;
  /** The hub's git oid, recorded with the entry. */
  oid?: string;
}

export interface DownloadOptions {
  store: CacheStore;
  fetch?: typeof fetch;
  /** Extra request headers (Authorization). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Minimum milliseconds between progress events (the first and last always go out). Default 100. */
  progressIntervalMs?: number;
  /** Retries after a network failure, a cut connection or a 5xx/429, counted in a row without progress. Default 3. */
  retries?: number;
  /** First backoff in ms, doubled per retry, capped at 10 s. Default 250. */
  retryDelayMs?: number;
  /** A response that sends nothing (headers or body bytes) for this long is cut and retried. Default 60 s. */
  idleTimeoutMs?: number;
  /** The hash to use (the Node adapter passes node:crypto's). Default: our streaming Sha256. */
  createHash?: () => StreamingHash;
  /** Maps a non-success HTTP status to an error (the hub maps 401/403/404); undefined = the default handling. */
  httpError?: (status: number, response: Response) => Error | undefined;
}

export interface DownloadResult {
  key: string;
  size: number;
  sha256: string;
  /** Bytes that were already in the partial when this call began. */
  resumedFrom: number;
  /** Bytes received over the network by this call. */
  received: number;
}

export const DEFAULT_RETRIES = 3;
export const DEFAULT_RETRY_DELAY_MS = 250;
export const DEFAULT_PROGRESS_INTERVAL_MS = 100;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const MAX_RETRY_DELAY_MS = 10_000;
/** Chunks are gathered up to this size before one append (fewer syscalls than one per network chunk). */
const WRITE_BATCH = 1 << 20;
/** Re-hashing a resumed prefix reads it back in chunks of this size. */
const REHASH_CHUNK = 4 << 20;
/** Restarts from byte 0 forced by the server (200 to a Range, a wrong Content-Range, a 416 on junk) per call. */
const MAX_RESTARTS = 2;

/** Thrown inside the transfer loop for a failure that may be retried with Range. */
class Retryable extends Error {}

/**
 * Downloads `req.url` into `opts.store` under `req.key`, resuming a partial left by an earlier call, and commits it
 * only after the size and (when given) sha256 check. Resolves with what was committed.
 */
export async function downloadToCache(req: DownloadRequest, opts: DownloadOptions): Promise<DownloadResult> {
  checkCacheKey(req.key);
  const { url } = req;
  const signal = opts.signal;
  if (signal?.aborted) throw new DownloadAbortedError(url, signal.reason);
  const partial = await opts.store.begin(req.key);
  try {
    const result = await transfer(req, opts, partial);
    await opts.store.commit(partial, result.info);
    return result.result;
  } catch (e) {
    // Wrong bytes must never be trusted later: drop them. Anything else keeps the partial for a resume.
    // (A failure to clean up must not hide the error that matters.)
    if (e instanceof IntegrityError) await partial.discard().catch(() => {});
    else await partial.close().catch(() => {});
    if (signal?.aborted && !(e instanceof IntegrityError)) throw e instanceof DownloadAbortedError ? e : new DownloadAbortedError(url, signal.reason);
    throw e;
  }
}

async function transfer(
  req: DownloadRequest,
  opts: DownloadOptions,
  partial: PartialEntry,
): Promise<{ result: DownloadResult; info: CacheEntryInfo }> {
  const { url } = req;
  const file = req.file ?? req.key;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const signal = opts.signal;
  const retries = opts.retries ?? DEFAULT_RETRIES;
  const baseDelay = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const newHash = opts.createHash ?? (() => new Sha256());
  const expectedSha = req.sha256?.toLowerCase();
  const checkAbort = () => {
    if (signal?.aborted) throw new DownloadAbortedError(url, signal.reason);
  };

  let total = req.size; // expected size; learnt from the server when not given
  if (total !== undefined && partial.size > total) await partial.truncate(0);
  const startedWith = partial.size;

  // --- progress, throttled ---
  const interval = opts.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  let resumedFrom = partial.size;
  let lastEmit = -Infinity;
  let lastLoaded = -1;
  const emit = (loaded: number, force = false) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (loaded === lastLoaded || (!force && now - lastEmit < interval)) return;
    lastEmit = now;
    lastLoaded = loaded;
    opts.onProgress({ file, loaded, total, resumedFrom });
  };

  // --- the hash covers exactly the partial's bytes ---
  let hash = newHash();
  const restart = async () => {
    await partial.truncate(0);
    hash = newHash();
    resumedFrom = 0;
    emit(0, true);
  };
  for (let at = 0; at < partial.size; at += REHASH_CHUNK) {
    checkAbort();
    hash.update(await partial.read(at, Math.min(REHASH_CHUNK, partial.size - at)));
  }

  let received = 0;
  let failures = 0; // in a row, without progress
  let restarts = 0;
  let rehashRetried = false;
  emit(partial.size, true);

  for (;;) {
    // --- one HTTP attempt, unless the partial is already the whole file ---
    const complete = total !== undefined && partial.size === total;
    if (!complete) {
      checkAbort();
      const from = partial.size;
      const before = from;
      try {
        const done = await attempt(from);
        if (done === 'restart') {
          if (++restarts > MAX_RESTARTS) throw new DownloadError(url, `the server keeps answering ranged requests inconsistently (${restarts} restarts)`);
          await restart();
          continue;
        }
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        checkAbort();
        if (partial.size > before) failures = 0;
        if (++failures > retries) {
          throw new DownloadError(url, `${e.message}; gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'} at ${partial.size}${total === undefined ? '' : `/${total}`} bytes (the partial is kept: run again to resume)`);
        }
        await sleep(Math.min(MAX_RETRY_DELAY_MS, baseDelay * 2 ** (failures - 1)), signal, url);
        continue;
      }
      // attempt() returns only with the whole file (a short body is a Retryable); with no size known anywhere,
      // the end of the stream is the end of the file.
      if (total === undefined) total = partial.size;
    }

    // --- verify ---
    emit(partial.size, true);
    if (partial.size !== total) throw new IntegrityError(url, 'size', total!, partial.size);
    const sha256 = hash.digestHex();
    if (expectedSha !== undefined && sha256 !== expectedSha) {
      // A resumed prefix may come from another version of the file: one clean download before blaming the server.
      if (startedWith > 0 && !rehashRetried) {
        rehashRetried = true;
        await restart();
        continue;
      }
      throw new IntegrityError(url, 'sha256', expectedSha, sha256);
    }
    const info: CacheEntryInfo = { size: partial.size, sha256, url };
    if (req.oid !== undefined) info.oid = req.oid;
    return { result: { key: req.key, size: partial.size, sha256, resumedFrom: startedWith, received }, info };
  }

  /** One request from byte `from`: appends what arrives; 'restart' when the partial must start over. */
  async function attempt(from: number): Promise<'ok' | 'restart'> {
    // Our own signal: the caller's abort, or no byte for `idleTimeoutMs` (a stalled connection is a cut one).
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    let stalled = false;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stalled = true;
        ac.abort(new Error(`no data for ${idleMs} ms`));
      }, idleMs);
    };
    try {
      arm();
      return await attemptWith(from, ac.signal, arm);
    } catch (e) {
      if (stalled && !signal?.aborted && !(e instanceof IntegrityError)) throw new Retryable(`the connection stalled (no data for ${idleMs} ms)`);
      throw e;
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function attemptWith(from: number, attemptSignal: AbortSignal, alive: () => void): Promise<'ok' | 'restart'> {
    const headers: Record<string, string> = { ...opts.headers };
    if (from > 0) headers.Range = `bytes=${from}-`;
    let res: Response;
    try {
      res = await doFetch(url, { headers, signal: attemptSignal, redirect: 'follow' });
    } catch (e) {
      checkAbort();
      throw new Retryable(`network error: ${errorText(e)}`);
    }

    if (res.status === 416) {
      await cancel(res);
      const m = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      const serverSize = m ? Number(m[1]) : undefined;
      if (from > 0 && serverSize === from && (total === undefined || total === from)) {
        total = from; // the partial already holds the whole file
        return 'ok';
      }
      if (from > 0) return 'restart';
      throw new DownloadError(url, 'HTTP 416 (range not satisfiable) for a request without Range', 416);
    }
    if (res.status !== 200 && res.status !== 206) {
      await cancel(res);
      const mapped = opts.httpError?.(res.status, res);
      if (mapped) throw mapped;
      if (res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500) {
        throw new Retryable(`HTTP ${res.status} ${res.statusText}`);
      }
      throw new DownloadError(url, `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
    }
    if (!res.body) {
      throw new DownloadError(url, `HTTP ${res.status} without a body`, res.status);
    }

    // Where this body starts, and how long the file is according to the server.
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== from) {
        await cancel(res);
        return 'restart'; // a range we did not ask for: trust nothing, start over
      }
      if (m[3] !== '*') await announced(res, Number(m[3]));
    } else {
      if (from > 0) {
        // The server ignored Range and sends the whole file: start over cleanly on this same response.
        if (++restarts > MAX_RESTARTS) {
          await cancel(res);
          throw new DownloadError(url, 'the server ignores Range and the partial had to be restarted too often');
        }
        await restart();
      }
      const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
      const len = res.headers.get('content-length');
      if (len !== null && !encoded && /^\d+$/.test(len)) await announced(res, Number(len));
    }

    // --- stream the body ---
    const reader = res.body.getReader();
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const bytes = concatBytes(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      await partial.append(bytes);
      hash.update(bytes);
    };
    let streamError: unknown = null;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          streamError = e;
          break;
        }
        if (chunk.done) break;
        alive();
        const bytes = chunk.value;
        const have = partial.size + pendingBytes + bytes.length;
        if (total !== undefined && have > total) {
          await reader.cancel().catch(() => {});
          throw new IntegrityError(url, 'size', total, `more than ${total} (at least ${have})`);
        }
        pending.push(bytes);
        pendingBytes += bytes.length;
        received += bytes.length;
        if (pendingBytes >= WRITE_BATCH) await flush();
        emit(partial.size + pendingBytes);
        if (signal?.aborted) {
          await reader.cancel().catch(() => {});
          break;
        }
      }
    } finally {
      // Bytes that arrived in order are good even when the connection then broke: keep them for the resume.
      await flush();
    }
    checkAbort();
    if (streamError !== null) throw new Retryable(`connection lost: ${errorText(streamError)}`);
    if (total !== undefined && partial.size < total) {
      throw new Retryable(`the body ended early at ${partial.size} of ${total} bytes`);
    }
    return 'ok';
  }

  /** The file size the server announces: learnt when unknown, else it must be the expected one. */
  async function announced(res: Response, serverSize: number): Promise<void> {
    if (total === undefined) total = serverSize;
    else if (serverSize !== total) {
      await cancel(res);
      throw new IntegrityError(url, 'size', total, `${serverSize} (as announced by the server)`);
    }
  }
}

async function cancel(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
}

/** Waits ms, or rejects with DownloadAbortedError when the signal fires first. */
function sleep(ms: number, signal: AbortSignal | undefined, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DownloadAbortedError(url, signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DownloadAbortedError(url, signal!.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
