// Tool calls, part 2 of 3: checking a parsed call against the declared tools (a JSON-schema subset).

import { isPlainObject } from './json.js';
import type { ParsedToolCall } from './tool-call-parse.js';


/**
 * The JSON-schema subset validateToolCall checks: type (one or a list; string, number, integer, boolean, array,
 * object, null), enum, const, properties, required, additionalProperties (false or a schema), items (one
 * schema), anyOf / oneOf (as "any branch matches"), and OpenAPI's nullable. Every other keyword (minLength,
 * pattern, format, $ref, …) is ignored, i.e. passes.
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  nullable?: boolean;
  description?: string;
  [keyword: string]: unknown;
}

export interface FunctionSpec {
  name: string;
  description?: string;
  /** Read as a JsonSchema; typed loosely so any JSON-schema-shaped object (e.g. a request body's) is accepted. */
  parameters?: JsonSchema | { [keyword: string]: unknown };
}

/** A tool definition as Liquid's docs write it (`{name, description, parameters}`) or in OpenAI's wrapper. */
export type ToolSpec = FunctionSpec | { type: 'function'; function: FunctionSpec };

const specOf = (t: ToolSpec): FunctionSpec => ('function' in t && typeof t.function === 'object' && t.function !== null ? t.function : (t as FunctionSpec));

const preview = (v: unknown): string => {
  let j: string;
  try {
    j = JSON.stringify(v) ?? String(v);
  } catch {
    j = String(v);
  }
  return j.length > 40 ? j.slice(0, 37) + '...' : j;
};

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function matchesType(v: unknown, t: string): boolean {
  switch (t) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isPlainObject(v);
    case 'null':
      return v === null;
  }
  return true; // unknown type names are not ours to reject
}

function checkSchema(v: unknown, schema: JsonSchema | undefined, path: string, errs: string[]): void {
  // Schemas come from requests: every keyword is shape-checked before use, and a malformed one is ignored.
  if (!isPlainObject(schema)) return;
  const where = path === '' ? 'arguments' : `argument '${path}'`;
  if (v === null && schema.nullable === true) return;
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : [];
  if (branches.length > 0 && !branches.some((b) => validateValue(v, b).length === 0)) {
    errs.push(`${where}: ${preview(v)} matches none of the allowed schemas`);
  }
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t): t is string => typeof t === 'string');
  if (types.length > 0 && !types.some((t) => matchesType(v, t))) {
    errs.push(`${where}: expected ${types.join(' or ')}, got ${typeOf(v)} ${preview(v)}`);
    return; // nested checks on a value of the wrong type only add noise
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => jsonEqual(e, v))) {
    errs.push(`${where}: ${preview(v)} is not one of ${preview(schema.enum)}`);
  }
  if ('const' in schema && !jsonEqual(schema.const, v)) errs.push(`${where}: must be ${preview(schema.const)}`);
  if (isPlainObject(v)) {
    const props: Record<string, unknown> = isPlainObject(schema.properties) ? schema.properties : {};
    for (const r of Array.isArray(schema.required) ? schema.required : []) {
      if (typeof r === 'string' && !Object.prototype.hasOwnProperty.call(v, r)) errs.push(`missing required argument '${path === '' ? r : `${path}.${r}`}'`);
    }
    for (const k of Object.keys(v)) {
      const sub = path === '' ? k : `${path}.${k}`;
      if (Object.prototype.hasOwnProperty.call(props, k)) checkSchema(v[k], props[k] as JsonSchema, sub, errs);
      else if (schema.additionalProperties === false) errs.push(`unexpected argument '${sub}'`);
      else if (isPlainObject(schema.additionalProperties)) checkSchema(v[k], schema.additionalProperties, sub, errs);
    }
  }
  if (Array.isArray(v) && isPlainObject(schema.items)) {
    const items = schema.items;
    v.forEach((x, i) => checkSchema(x, items, `${path}[${i}]`, errs));
  }
}

const validateValue = (v: unknown, schema: JsonSchema): string[] => {
  const errs: string[] = [];
  checkSchema(v, schema, '', errs);
  return errs;
};

/**
 * Checks a parsed call against the tool definitions; returns human-readable problems (empty = valid), phrased
 * so they can be handed back to the model as a tool result. See JsonSchema for the subset checked.
 */
export function validateToolCall(call: ParsedToolCall, tools: readonly ToolSpec[]): string[] {
  const specs = tools.filter(isPlainObject).map(specOf).filter(isPlainObject);
  const spec = specs.find((t) => t.name === call.name);
  if (spec === undefined) {
    const names = specs.map((t) => t.name).filter((n) => typeof n === 'string');
    return [`unknown tool '${call.name}'${names.length ? ` (available: ${names.join(', ')})` : ''}`];
  }
  if (!isPlainObject(spec.parameters)) return [];
  // parameters is an object schema even when it omits "type"
  const errs: string[] = [];
  checkSchema(call.arguments, { type: 'object', ...spec.parameters } as JsonSchema, '', errs);
  return errs;
}
