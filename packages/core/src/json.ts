import type * as z from "zod";
import { Log } from "./log.ts";

/**
 * JSON stored in TEXT columns (the reference system's `safe_json_loads` /
 * `safe_json_dumps`). Bad stored JSON never throws: it logs a warning naming
 * the field and yields the default, so one corrupt row cannot take a page down.
 */

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
