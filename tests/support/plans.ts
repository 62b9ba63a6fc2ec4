import type pg from "pg";

/**
 * Reading `EXPLAIN (FORMAT JSON)` plans: the rules a hot query must keep on a
 * database big enough for the planner to behave as in production.
 */

export interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Sort Key"?: string[];
  "Plan Rows": number;
  Plans?: PlanNode[];
}

export interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

/** Tables bigger than this must never be read whole. */
const SEQ_SCAN_LIMIT = 10_000;
/** A keyset page is at most 100 rows plus the one that says another page exists. */
const SORT_LIMIT = 101;

/** The plan Postgres would use for `statement` with its own parameters (nothing is executed). */
export async function explain(client: pg.Client, statement: Statement): Promise<PlanNode> {
  const { rows } = await client.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
    `EXPLAIN (FORMAT JSON) ${statement.sql}`,
    statement.parameters as unknown[],
  );
  return rows[0]!["QUERY PLAN"][0]!.Plan;
}

/** Every node of a plan, depth first. */
function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Estimated live rows per table of the current schema. */
export async function tableSizes(client: pg.Client): Promise<Map<string, number>> {
  const { rows } = await client.query<{ name: string; n: number }>(
    "select relname as name, greatest(reltuples, 0)::float8 as n from pg_class where relkind = 'r' and relnamespace = current_schema()::regnamespace",
  );
  return new Map(rows.map((r) => [r.name, r.n]));
}

/** What breaks the rules: a sequential scan of a big table, a sort of more than a page. */
export function problems(plan: PlanNode, sizes: Map<string, number>): string[] {
  const found: string[] = [];
  for (const node of nodes(plan)) {
    const type = node["Node Type"];
    const table = node["Relation Name"];
    if (type === "Seq Scan" && table && (sizes.get(table) ?? 0) > SEQ_SCAN_LIMIT) {
      found.push(`Seq Scan on ${table} (${Math.round(sizes.get(table)!)} rows)`);
    }
    if (type !== "Sort" && type !== "Incremental Sort") continue;
    const key = (node["Sort Key"] ?? []).join(", ");
    // A keyset list sorted instead of read in index order sorts all of the owner's rows; when
    // the owner comes from a join (the session's actor), the estimate is any owner's average,
    // so it is refused unless the planner knows at most one row comes (a unique lookup).
    const keyset = /created_at/.test(key) && node["Plan Rows"] > 1;
    if (node["Plan Rows"] > SORT_LIMIT || keyset) found.push(`${type} of ~${node["Plan Rows"]} rows by ${key}`);
  }
  return found;
}

/** The indexes a plan reads. */
export function indexesUsed(plan: PlanNode): string[] {
  return nodes(plan).flatMap((n) => (n["Index Name"] ? [n["Index Name"]] : []));
}
