// Small helpers for values that arrive as JSON (request bodies, tool definitions, tool-call arguments).

/**
 * A JSON object: an object literal or a JSON.parse result (prototype Object.prototype or null). Arrays, class
 * instances (Date, Map, ...) and null are not.
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Deepest nesting of arrays and objects accepted in user-supplied JSON (tool schemas, tool-call arguments): deeper
 * input is an error, never a stack overflow in a recursive walk. The tool-call parser has the same limit, so
 * anything accepted here can be written into a prompt and read back.
 */
export const MAX_JSON_DEPTH = 128;

/** Depth of nested arrays/objects in `v` (a scalar is 0), counted without recursion; stops counting at `limit + 1`. */
export function jsonDepth(v: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (typeof c === 'object' && c !== null) stack.push([c, depth]);
  }
  return max;
}

/** A value as an error message shows it: a string quoted (and cut at 40 characters), anything else described. */
export function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : describe(v);
}

/** A short description of a value for error messages: "null", "an array", "number 5", "the string \"x\"". */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (undefined)';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return isPlainObject(v) ? 'an object' : `a ${(v as object).constructor?.name ?? 'non-plain'} object`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}
