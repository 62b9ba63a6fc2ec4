import * as z from "zod";
import { Log } from "./log.ts";

/**
 * JSON stored in TEXT columns (the reference system's `safe_json_loads` /
 * `safe_json_dumps`). Bad stored JSON never throws: it logs a warning naming
 * the field and yields the default, so one corrupt row cannot take a page down.
 */

/** How deeply JSON in a text column may nest: deeper values exhaust the stack when serialized again. */
export const MAX_JSON_DEPTH = 32;

/** A value nested no deeper than MAX_JSON_DEPTH, measured without recursion. */
function withinDepth(value: unknown): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > MAX_JSON_DEPTH) return false;
    level = level.flatMap((v) => (v !== null && typeof v === "object" ? Object.values(v) : []));
  }
  return true;
}

/** Bytes of a value as JSON text, UTF-8: what it costs in every response that carries it. */
function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "");
}

/**
 * A JSON value from a client, refused when it nests deeper than MAX_JSON_DEPTH or is over
 * `maxBytes` as JSON: the caps that keep any response inside Lambda's 6 MB (docs/security.md).
 * A stored value over either reads back as the column's default, with a warning.
 */
export function boundedJson<T extends z.ZodType>(schema: T, maxBytes: number) {
  return schema
    // Abort: serializing a value nested thousands deep to measure it would exhaust the stack.
    .refine(withinDepth, { message: `must nest at most ${MAX_JSON_DEPTH} levels deep`, abort: true })
    .refine((v) => jsonBytes(v) <= maxBytes, `must be at most ${maxBytes} bytes as JSON`);
}

export interface LoadOptions<T> {
  /** What to return for null, empty, unparsable or wrongly-shaped input. */
  default: T;
  /** Column name, for the warning. */
  field: string;
  /** Optional shape check; a value that fails it also yields the default. */
  schema?: z.ZodType<T>;
}

/** Parses a JSON TEXT value; never throws. */
export function safeJsonLoads<T>(value: string | null | undefined, options: LoadOptions<T>): T {
  if (value === null || value === undefined || value.trim() === "") return options.default;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    Log.warn("invalid JSON in a text column; using the default", {
      field: options.field,
      reason: err instanceof Error ? err.message : String(err),
      length: value.length,
    });
    return options.default;
  }
  if (!withinDepth(parsed)) {
    // Stored before the depth limit (or by hand): serializing it would overflow the stack.
    Log.warn("JSON in a text column nests too deeply; using the default", { field: options.field, length: value.length });
    return options.default;
  }
  if (!options.schema) return parsed as T;
  const checked = options.schema.safeParse(parsed);
  if (checked.success) return checked.data;
  Log.warn("JSON in a text column has the wrong shape; using the default", {
    field: options.field,
    reason: checked.error.issues[0]?.message ?? "schema mismatch",
  });
  return options.default;
}

export interface DumpOptions {
  field: string;
  /** What to store when the value cannot be serialized. */
  default?: string;
}

/** Serializes a value for a JSON TEXT column; never throws. */
export function safeJsonDumps(value: unknown, options: DumpOptions): string {
  const fallback = options.default ?? "null";
  try {
    const text = JSON.stringify(value);
    if (text === undefined) {
      Log.warn("value is not JSON-serializable; storing the default", { field: options.field, reason: typeof value });
      return fallback;
    }
    return text;
  } catch (err) {
    Log.warn("value is not JSON-serializable; storing the default", {
      field: options.field,
      reason: err instanceof Error ? err.message : String(err),
    });
    return fallback;
  }
}
