import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from "kysely";
import * as z from "zod";
import { VisibleError } from "./error.ts";

/**
 * Keyset pagination, never OFFSET. Lists are ordered by (created_at, id),
 * newest first unless a route says otherwise. The cursor is opaque to clients:
 * base64url JSON of the last item's exact created_at (microseconds, as
 * Postgres stores it: a JS Date would round it and repeat or skip rows) and id.
 */

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** `?limit=`: 1..100, default 20. */
const Limit = z
  .string()
  .regex(/^\d+$/, "limit must be a whole number")
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_LIMIT, `limit must be between 1 and ${MAX_LIMIT}`)
  .optional()
  .transform((n) => n ?? DEFAULT_LIMIT);

interface CursorValue {
  /** created_at, ISO 8601 UTC with microseconds. */
  t: string;
  id: number;
}

/** A real instant (no February 30th, month 13, hour 25 or year 0): the date parts survive a round trip. */
function isRealInstant(t: string): boolean {
  const date = new Date(t);
  return t.slice(0, 4) !== "0000" && !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) === t.slice(0, 19);
}

const CursorShape = z.object({
  t: z
    .string()
    .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/)
    .refine(isRealInstant),
  id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

/** `?cursor=`: the opaque value from a previous page's `next_cursor`. */
const Cursor = z
  .string()
  .max(200)
  .transform((raw, ctx) => {
    try {
      return CursorShape.parse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    } catch {
      ctx.addIssue({ code: "custom", message: "cursor is not one this API issued" });
      return z.NEVER;
    }
  })
  .optional();

/** The query parameters every list accepts. */
export const PageQuery = z.object({ limit: Limit, cursor: Cursor });
export type PageQuery = z.infer<typeof PageQuery>;

function encodeCursor(value: CursorValue): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/**
 * Selects a timestamp column as exact UTC text for cursors (alias it `cursor_t`).
 * Pass `eb.ref("table.created_at")`: Kysely checks the column against the query's tables.
 */
export function cursorText(column: Expression<Date>): RawBuilder<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** The query's tables a keyset page can walk: those with an `id` and a `created_at` (audit rows: `timestamp`). */
type KeysetTable<DB, TB extends keyof DB> = {
  [T in TB]: DB[T] extends { id: unknown } & ({ created_at: unknown } | { timestamp: unknown }) ? T : never;
}[TB] & string;

/** The time a table's lists are ordered by: audit rows keep the reference system's `timestamp`. */
function timeOf(table: string): string {
  return `${table}.${table === "audit_log" ? "timestamp" : "created_at"}`;
}

/** The keyset condition: rows strictly after the cursor in the list's order. */
function afterCursor(table: string, cursor: CursorValue | undefined, order: "desc" | "asc"): Expression<SqlBool> {
  if (!cursor) return sql<SqlBool>`true`;
  const op = sql.raw(order === "desc" ? "<" : ">");
  return sql<SqlBool>`(${sql.ref(timeOf(table))}, ${sql.ref(`${table}.id`)}) ${op} (${cursor.t}::timestamptz, ${cursor.id})`;
}

/**
 * Makes `qb` one page of a list over `table` (one of the query's tables, so
 * a typo fails the type-check): ordered by (created_at, id), starting after
 * the cursor, fetching one row more than the page so `toPage` can tell
 * whether another page exists. Use with `.$call`.
 */
export function keysetPage<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  table: KeysetTable<DB, TB>,
  query: PageQuery,
  order: "desc" | "asc" = "desc",
): SelectQueryBuilder<DB, TB, O> {
  return qb
    .where(afterCursor(table, query.cursor, order))
    .orderBy(sql.ref(timeOf(table)), order)
    .orderBy(sql.ref(`${table}.id`), order)
    // `+ 1` in SQL, not here: a prepared query's limit is a parameter it has not seen yet.
    .limit(sql<number>`${query.limit} + 1`);
}

/** A page query's values, flat: a prepared query's stand-ins replace values, not objects. */
export interface FlatPage {
  limit: number;
  cursor_t: string | undefined;
  cursor_id: number | undefined;
}

export function flatPage(query: PageQuery): FlatPage {
  return { limit: query.limit, cursor_t: query.cursor?.t, cursor_id: query.cursor?.id };
}

/** The page query of flat values, inside a prepared query's builder. */
export function pageOf(v: FlatPage): PageQuery {
  return { limit: v.limit, cursor: v.cursor_t === undefined ? undefined : { t: v.cursor_t, id: v.cursor_id! } };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** The schema of a page of `item`s, for the API's contract. */
export function PageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

/**
 * Most bytes of JSON one page's items may hold. Lambda refuses a response over 6 MB counted
 * after the body is escaped once more into its envelope (each `"` and `\\` doubles), so
 * 2 × 2 MiB plus headers stays inside it whatever the items hold (docs/security.md).
 */
export const PAGE_BYTES = 2 * 1024 * 1024;

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says whether
 * another page exists; the cursor points at the last row shown. A page whose
 * items reach PAGE_BYTES ends early (never empty), its cursor where it ended.
 */
export function toPage<R extends { id: number; cursor_t: string }, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const items: T[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, limit)) {
    const item = map(row);
    bytes += Buffer.byteLength(JSON.stringify(item));
    if (items.length > 0 && bytes > PAGE_BYTES) break;
    items.push(item);
  }
  const last = rows[items.length - 1];
  return {
    items,
    next_cursor: rows.length > items.length && last ? encodeCursor({ t: last.cursor_t, id: last.id }) : null,
  };
}

/**
 * The page rows of a statement that left-joins a page to its owner (the
 * session's `actor`, a row): an empty page still comes back as one row with
 * every page column null. Page columns are typed non-null again, except the
 * `nullable` ones the table itself allows to be null.
 */
export function present<R extends { id: number | null }, N extends keyof R = never>(
  rows: R[],
  ..._nullable: N[]
): Array<{ [K in keyof R]: K extends N ? R[K] : NonNullable<R[K]> }> {
  return rows.filter((r) => r.id !== null) as Array<{ [K in keyof R]: K extends N ? R[K] : NonNullable<R[K]> }>;
}

/** Thrown for ids that parse but cannot exist; keeps 404 the single answer for "not yours". */
export function notFound(what: string): VisibleError {
  return new VisibleError("not_found", "not_found", `${what} not found`);
}
