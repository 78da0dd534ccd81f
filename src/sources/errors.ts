// Typed errors for model sources: spec strings, the Hugging Face hub, downloads and the cache.
//
// Contract (as in reference/errors.ts): every error says WHERE (repo, revision, file, URL or cache key) and WHAT
// went wrong, and callers branch on the class or on `.code`, never on message text.

import { LfmError } from '../../reference/errors.js';

/** A model spec string that is neither a path, a URL nor a hub reference (`owner/name[@rev][:quant | /file]`). */
export class SpecError extends LfmError {
  readonly spec: string;
  constructor(spec: string, message: string) {
    super('E_SPEC', `model '${spec}': ${message}`);
    this.spec = spec;
  }
}

/** The hub answered, but not with what we need: no matching GGUF, an ambiguous quant tag, a malformed listing. */
export class HubError extends LfmError {
  readonly repo: string;
  readonly revision: string;
  readonly file: string | undefined;
  constructor(repo: string, revision: string, file: string | undefined, message: string, code = 'E_HUB') {
    super(code, `${repo}@${revision}${file === undefined ? '' : `/${file}`}: ${message}`);
    this.repo = repo;
    this.revision = revision;
    this.file = file;
  }
}

/** The repo, the revision or the file does not exist (HTTP 404, or a file the listing does not have). */
export class HubNotFoundError extends HubError {
  constructor(repo: string, revision: string, file: string | undefined, message: string) {
    super(repo, revision, file, message, 'E_HUB_NOT_FOUND');
  }
}

/** The hub refused us (HTTP 401/403, gated or private repo): the message says to set HF_TOKEN. */
export class HubAuthError extends HubError {
  readonly status: number;
  constructor(repo: string, revision: string, file: string | undefined, status: number, message: string) {
    super(repo, revision, file, message, 'E_HUB_AUTH');
    this.status = status;
  }
}

/** A download failed for a reason other than the bytes themselves: HTTP status, network, retries used up. */
export class DownloadError extends LfmError {
  readonly url: string;
  /** The HTTP status when there was one. */
  readonly status: number | undefined;
  constructor(url: string, message: string, status?: number) {
    super('E_DOWNLOAD', `${url}: ${message}`);
    this.url = url;
    this.status = status;
  }
}

/** The downloaded bytes are not the expected ones (size or sha256). Nothing was committed to the cache. */
export class IntegrityError extends LfmError {
  readonly url: string;
  readonly check: 'size' | 'sha256';
  readonly expected: string;
  readonly actual: string;
  constructor(url: string, check: 'size' | 'sha256', expected: string | number, actual: string | number) {
    super(
      'E_INTEGRITY',
      `${url}: ${check} mismatch: expected ${expected}, got ${actual} (the partial download was deleted; nothing was cached)`,
    );
    this.url = url;
    this.check = check;
    this.expected = String(expected);
    this.actual = String(actual);
  }
}

/**
 * The caller's AbortSignal fired. `name` is 'AbortError' (what DOM code checks), the class is typed, and the
 * partial file is kept so that the next attempt resumes.
 */
export class DownloadAbortedError extends LfmError {
  readonly url: string;
  readonly reason: unknown;
  constructor(url: string, reason?: unknown) {
    super('E_ABORTED', `${url}: download aborted${reason instanceof Error ? ` (${reason.message})` : ''}`);
    this.name = 'AbortError';
    this.url = url;
    this.reason = reason;
  }
}

/** A cache key that is not a safe relative path, or a cache store that cannot do what was asked. */
export class CacheError extends LfmError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('E_CACHE', `cache '${key}': ${message}`);
    this.key = key;
  }
}
