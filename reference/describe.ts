// Describing a value from a user's file in an error message, safely.
//
// JSON.stringify is the obvious tool and the wrong one for values read from a file: it throws a TypeError on a
// bigint (a GGUF u64/i64, or an array of them), overflows the stack on JSON nested 10,000 levels deep (JSON.parse
// accepts that), and would paste a megabyte string into the message. describeValue never throws, never recurses
// and stays short, so an error about a bad value cannot itself turn into a crash.

const MAX_STRING = 40;

/** A short description of a value for an error message: `"abc"`, `5`, `NaN`, `a list of 3`, `an object`, `a BigInt64Array of 2`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v); // escapes lone surrogates
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'object':
      if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
      if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${(v as unknown as ArrayLike<unknown>).length ?? v.byteLength}`;
      return 'an object';
    default:
      return `a ${typeof v}`;
  }
}

/** A JSON object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
