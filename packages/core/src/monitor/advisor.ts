import { sql } from "kysely";
import { Database, type Executor } from "../db/index.ts";
import { DatabaseUnavailableError } from "../error.ts";
import { extension, select, type Options, type Result, type Row } from "./report.ts";
import { statementsState } from "./statements.ts";

/**
 * The index advisor, Dexter's method: EXPLAIN each statement (a generic plan
 * when it has parameters), create hypothetical indexes (hypopg: planner-only,
 * nothing is built or locked) on the columns its filters, joins and sorts
 * use, EXPLAIN again, and suggest the hypothetical indexes the planner picks
 * when they cut the estimated cost by at least half.
 */

const DESCRIPTION = "indexes that would cut a statement's estimated cost by half or more (hypothetical indexes through hypopg)";
const MIN_SAVING = 0.5;
const TOP = 20;

const ENABLE_HYPOPG = {
  missing: [
    "install hypopg on the server (Debian/Ubuntu: apt-get install postgresql-15-hypopg, for your server's major version; macOS: brew install hypopg; PGlite does not ship it)",
    "CREATE EXTENSION hypopg;",
  ],
  installable: ["CREATE EXTENSION hypopg; (Neon has it: this is all it takes there)"],
};

/** Plan fields whose expressions name the columns a statement filters, joins or sorts on. */
const FILTERS = ["Filter", "Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter"];
const SORTS = ["Sort Key", "Presorted Key", "Group Key"];

interface PlanNode {
  "Node Type": string;
  "Total Cost": number;
  "Relation Name"?: string;
  Schema?: string;
  Alias?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
  [field: string]: unknown;
}

interface Table {
  schema: string;
  name: string;
  filters: Set<string>;
  sorts: Set<string>;
}

interface Candidate {
  table: string;
  columns: string[];
  /** As Postgres prints it: CREATE INDEX ON public."row" USING btree (user_id, created_at). */
  definition: string;
}

interface Suggestion {
  table: string;
  columns: string[];
  create: string;
  statements: number;
  best_saving: number;
  cost_before: number;
  cost_after: number;
  example: string;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name);

function* nodes(plan: PlanNode): Generator<PlanNode> {
  yield plan;
  for (const child of plan.Plans ?? []) yield* nodes(child);
}

/** The tables a plan scans, by alias, with the columns its conditions and sorts name (VERBOSE plans qualify them). */
function tablesOf(plan: PlanNode): Map<string, Table> {
  const tables = new Map<string, Table>();
  for (const node of nodes(plan)) {
    if (node["Relation Name"] && node.Schema && node.Alias) {
      tables.set(node.Alias, { schema: node.Schema, name: node["Relation Name"], filters: new Set(), sorts: new Set() });
    }
  }
  const ref = /((?:"(?:[^"]|"")+")|[A-Za-z_][\w$]*)\.((?:"(?:[^"]|"")+")|[A-Za-z_][\w$]*)/g;
  for (const node of nodes(plan)) {
    for (const [fields, kind] of [[FILTERS, "filters"], [SORTS, "sorts"]] as const) {
      for (const field of fields) {
        const value = node[field];
        const text = Array.isArray(value) ? value.join(" ") : typeof value === "string" ? value : "";
        for (const [, alias, column] of text.matchAll(ref)) tables.get(unquote(alias!))?.[kind].add(unquote(column!));
      }
    }
  }
  return tables;
}

/** Column lists to try on a table: each filtered column, and each pair of a filtered column and another filtered or sorted one. */
function candidates(table: Table): string[][] {
  const filters = [...table.filters].slice(0, 6);
  const out = filters.map((c) => [c]);
  for (const first of filters) for (const second of new Set([...filters, ...table.sorts])) if (second !== first) out.push([first, second]);
  for (const sort of table.sorts) if (!table.filters.has(sort)) out.push([sort]);
  return out;
}

/**
 * The statement's plan: prepared, so parameters ($1…) get a generic plan.
 * pg_stat_statements turns constants into parameters where a parameter alone
 * does not parse or has no type: a typed literal's (`interval '1 minute'`
 * becomes `interval $4`) is cast instead, and a keyset page's `limit $2 + $7`
 * (unknown + unknown) is bigint arithmetic.
 */
async function explain(tx: Executor, statement: string): Promise<PlanNode> {
  const params = Math.max(0, ...[...statement.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const text = statement
    .replace(/\b(interval|timestamptz|timestamp|date|time)\s+\$(\d+)/gi, "$$$2::$1")
    .replace(/\b(limit|offset)\s+\$(\d+)\s*\+\s*\$(\d+)/gi, "$1 ($$$2::bigint + $$$3::bigint)");
  await sql.raw(`prepare shop_advisor as ${text}`).execute(tx);
  try {
    const args = params ? `(${Array(params).fill("null").join(", ")})` : "";
    const { rows } = await sql.raw<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`explain (format json, verbose) execute shop_advisor${args}`).execute(tx);
    return rows[0]!["QUERY PLAN"][0].Plan;
  } finally {
    await sql`deallocate shop_advisor`.execute(tx);
  }
}

/** What the advisor finds for one statement: the hypothetical indexes its cheaper plan uses, each with its definition. */
async function advise(tx: Executor, statement: string) {
  const before = await explain(tx, statement);
  const hypothetical = new Map<string, Candidate>();
  for (const table of tablesOf(before).values()) {
    for (const columns of candidates(table)) {
      const ddl = `create index on ${quote(table.schema)}.${quote(table.name)} (${columns.map(quote).join(", ")})`;
      const { rows } = await sql<{ indexname: string; definition: string }>`
        select indexname, hypopg_get_indexdef(indexrelid) as definition from hypopg_create_index(${ddl})`.execute(tx);
      hypothetical.set(rows[0]!.indexname, { table: table.name, columns, definition: rows[0]!.definition });
    }
  }
  if (!hypothetical.size) return { before: before["Total Cost"], after: before["Total Cost"], used: [] };
  try {
    const after = await explain(tx, statement);
    const used = [...nodes(after)].flatMap((n) => (n["Index Name"] && hypothetical.has(n["Index Name"]) ? [hypothetical.get(n["Index Name"])!] : []));
    return { before: before["Total Cost"], after: after["Total Cost"], used };
  } finally {
    await sql`select hypopg_reset()`.execute(tx);
  }
}

/** Statements worth advising on: reads and the searching part of updates and deletes, not the catalog's (nor these reports'). */
function advisable(statement: string): boolean {
  return /^\s*(select|with|update|delete)\b/i.test(statement) && !/\b(pg_\w+|information_schema|hypopg\w*)\b/i.test(statement);
}

/** The top statements of pg_stat_statements by total time, or null with why not. */
async function topStatements(): Promise<string[] | { reason: string; enable: string[] }> {
  const missing = await statementsState();
  if (missing) {
    return { reason: `the advisor reads its statements from pg_stat_statements (or from a file: --queries): ${missing.reason}`, enable: missing.enable };
  }
  const rows = await select<{ query: string }>(sql`
    select query from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
      and query ~* '^\\s*(select|with|update|delete)\\M'
    order by total_exec_time desc
    limit ${TOP * 3}`);
  return rows.map((r) => r.query).filter(advisable).slice(0, TOP);
}

/** Suggestions whose columns start a longer suggestion's on the same table fold into it: that index serves both. */
function merge(suggestions: Suggestion[]): Suggestion[] {
  const covering = (s: Suggestion) =>
    suggestions.find((o) => o !== s && o.table === s.table && o.columns.length > s.columns.length && s.columns.every((c, n) => o.columns[n] === c));
  for (const s of suggestions) {
    const into = covering(s);
    if (into) into.statements += s.statements;
  }
  return suggestions.filter((s) => !covering(s));
}

/** Suggested indexes, each with the DDL to run and the statements it helps. */
export async function missingIndexes(options: Options): Promise<Result> {
  const hypopg = await extension("hypopg");
  if (hypopg !== "created") {
    return { available: false, description: DESCRIPTION, reason: `the hypopg extension is not ${hypopg === "missing" ? "installed on this server" : "created in this database"}`, enable: ENABLE_HYPOPG[hypopg] };
  }
  const source = options.queries ?? (await topStatements());
  if (!Array.isArray(source)) return { available: false, description: DESCRIPTION, ...source };
  const statements = source.map((s) => s.trim().replace(/;\s*$/, "")).filter(advisable);
  const skipped: { statement: string; reason: string }[] = [];
  const found = new Map<string, Suggestion>();
  // One transaction: hypothetical indexes and prepared statements live in one session, which a pooler keeps only that long.
  await Database.transaction(async (tx) => {
    await sql`set local plan_cache_mode = force_generic_plan`.execute(tx);
    for (const statement of statements) {
      await sql`savepoint shop_advisor`.execute(tx);
      try {
        const { before, after, used } = await advise(tx, statement);
        await sql`release savepoint shop_advisor`.execute(tx);
        const saving = before > 0 ? 1 - after / before : 0;
        if (saving < MIN_SAVING) continue;
        for (const { table, columns, definition } of used) {
          const name = `ix_${table}_${columns.join("_")}`.slice(0, 63);
          const create = `${definition.replace(/^CREATE INDEX ON/, `CREATE INDEX CONCURRENTLY ${/^[a-z_][a-z0-9_]*$/.test(name) ? name : quote(name)} ON`)};`;
          const known = found.get(create);
          if (known) known.statements++;
          if (known && known.best_saving >= saving) continue;
          found.set(create, { table, columns, create, statements: known?.statements ?? 1, best_saving: Math.round(saving * 1000) / 1000, cost_before: before, cost_after: after, example: statement });
        }
      } catch (err) {
        if (err instanceof DatabaseUnavailableError) throw err;
        await sql`rollback to savepoint shop_advisor`.execute(tx);
        skipped.push({ statement, reason: err instanceof Error ? err.message : String(err) });
      }
    }
  });
  const rows: Row[] = merge([...found.values()]).map((s) => ({ ...s, columns: s.columns.join(", "), flagged: true }));
  return {
    available: true,
    description: DESCRIPTION,
    thresholds: { cost_saving: MIN_SAVING },
    summary: { source: options.queries ? "the statements given" : `pg_stat_statements, top ${TOP} by total time`, statements: statements.length, skipped },
    rows,
  };
}
