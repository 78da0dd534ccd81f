// Typed errors for everything that reads user-supplied data (model files, configs, token ids).
//
// Contract: every error names WHERE (file, field or tensor) and WHAT was expected, so a user who hands us a
// truncated download or a mislabelled config learns which file is wrong and why, instead of a crash deep in a
// kernel. Callers branch on the class (or on `.code`), never on message text.

/** Base class; `code` is a stable machine-readable tag. */
export class LfmError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A file's bytes do not follow its format (bad magic, bad version, truncated, offsets out of range, ...). */
export class FormatError extends LfmError {
  readonly file: string;
  readonly field: string;
  constructor(file: string, field: string, message: string) {
    super('E_FORMAT', `${file}: ${field}: ${message}`);
    this.file = file;
    this.field = field;
  }
}

/** A tensor is missing, unexpected, of the wrong shape, or of an unsupported type. */
export class TensorError extends LfmError {
  readonly file: string;
  readonly tensor: string;
  constructor(file: string, tensor: string, message: string) {
    super('E_TENSOR', `${file}: tensor '${tensor}': ${message}`);
    this.file = file;
    this.tensor = tensor;
  }
}

/** A model configuration is missing a key or holds values that contradict each other or the weights. */
export class ConfigError extends LfmError {
  readonly source: string;
  readonly field: string;
  constructor(source: string, field: string, message: string) {
    super('E_CONFIG', `${source}: ${field}: ${message}`);
    this.source = source;
    this.field = field;
  }
}

/**
 * A request cannot be served: bad token id, prompt longer than the context, a request field of the wrong type, and
 * the like. `param` names the request field when there is one (`messages[2].content`, `stop`, `tools[0].function`),
 * as OpenAI's error object does.
 */
export class InputError extends LfmError {
  readonly param: string | null;
  constructor(message: string, opts: { param?: string; code?: string } = {}) {
    super(opts.code ?? 'E_INPUT', message);
    this.param = opts.param ?? null;
  }
}
