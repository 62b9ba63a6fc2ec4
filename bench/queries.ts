/**
 * npm run bench:queries -- [--scale large|medium|small] [--rounds 20] [--seed 1]
 *                          [--postgres private|<url>] [--keep]
 *
 * The reference guide's before/after query table, redone: each query of its
 * table (rows by status, auth lookup by token, a row's bids with sellers, a
 * row's comments, admin-style counts) as the guide writes it, on a database
 * with the schema only (migration 0001) and on one with every migration, next
 * to the statements our app sends for the same read (captured from core's
 * query code with a heavy and a light user's parameters), on identical data.
 * Repeated and interleaved; medians, p95, speedup, the plan's access nodes.
 * docs/performance.md ("Queries") explains it.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import * as Admin from "@shop/core/admin";
import * as Bid from "@shop/core/bid";
import * as Comment from "@shop/core/comment";
import { parseConfig } from "@shop/core/config";
import { createDatabase, Database } from "@shop/core/db";
import * as Row from "@shop/core/row";
import * as Session from "@shop/core/session";
import { activeTokens, generate, SCALES, TABLES, type PlanOptions } from "./datagen/index.ts";
import { existingPostgres, query, startPrivatePostgres, type Postgres } from "./lib/postgres.ts";
import { numberOption, onCleanup, run, runBenchmark, UsageError } from "./lib/procs.ts";
import { latency } from "./lib/stats.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");

const USAGE = `usage: npm run bench:queries -- [options]

  --scale S          small (1k rows), medium (10k) or large (100k rows, 5M bids; default)
  --seed S           the generator's seed (default 1)
  --rounds N         timed rounds, each running every statement once, in a rotated order (default 20)
  --budget S         stop timing a statement once its runs add up to S seconds, after 5 runs (default 20)
  --postgres WHERE   private (default: a throwaway instance of our own) or the URL of a local server
  --keep             with --postgres <url>: keep the two databases (bq_<scale>_<seed>_schema and
                     _indexed) and reuse them next time instead of generating again
`;

interface Options {
  scale: keyof typeof SCALES;
  seed: string;
  rounds: number;
  budgetMs: number;
  postgres: string;
  keep: boolean;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: "string" },
      seed: { type: "string" },
      rounds: { type: "string" },
      budget: { type: "string" },
      postgres: { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const scale = (values.scale ?? "large") as Options["scale"];
  if (!(scale in SCALES)) throw new UsageError(`--scale must be one of ${Object.keys(SCALES).join(", ")} (got "${scale}")`);
  const num = (name: string, raw: string | undefined, fallback: number) => numberOption(name, raw, fallback, 1);
  const postgres = values.postgres ?? "private";
  if (values.keep && postgres === "private") throw new UsageError("--keep needs --postgres <url>: a private instance is deleted at the end");
  return {
    scale,
    seed: values.seed ?? "1",
    rounds: Math.round(num("rounds", values.rounds, 20)),
    budgetMs: num("budget", values.budget, 20) * 1000,
    postgres,
    keep: values.keep ?? false,
  };
}

// ---------------------------------------------------------------------------
// Two databases, identical data: generate into a 0001-only database, copy it, migrate the copy

interface Databases {
  schema: string;
  indexed: string;
  plan: PlanOptions & { now: Date };
  reused: boolean;
}

const exists = async (pgs: Postgres, name: string) =>
  (await query(pgs.url("postgres"), "select 1 from pg_database where datname = $1", [name])).length > 0;

async function prepareDatabases(pgs: Postgres, opts: Options): Promise<Databases> {
  const prefix = opts.keep ? `bq_${opts.scale}_${opts.seed}` : `bq_${process.pid}`;
  const [schema, indexed] = [`${prefix}_schema`, `${prefix}_indexed`];
  const admin = pgs.url("postgres");
  const base = { ...SCALES[opts.scale], seed: opts.seed };
  const npm = (db: string, ...args: string[]) =>
    run("npm", ["run", "--silent", ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: pgs.url(db) } });
  const migrate = (db: string, ...args: string[]) => npm(db, "migrate", "--", ...args);
  // As in production, where the fold-stats job runs every 5 minutes: the admin counts folded.
  const fold = () => npm(indexed, "job", "--", "fold-stats");
  if (opts.keep && (await exists(pgs, schema)) && (await exists(pgs, indexed))) {
    // The dataset's "now" was kept as the database's comment; it decides which sample sessions are active.
    const [row] = await query<{ now: string | null }>(admin, "select shobj_description(oid, 'pg_database') as now from pg_database where datname = $1", [schema]);
    if (row?.now) {
      process.stderr.write(`reusing ${schema} and ${indexed} (dataset now ${row.now})\n`);
      await migrate(indexed); // a migration added since is applied (and a finished database left alone)
      await fold();
      return { schema, indexed, plan: { ...base, now: new Date(row.now) }, reused: true };
    }
  }
  for (const db of [indexed, schema]) {
    await query(admin, `drop database if exists "${db}" with (force)`);
    if (!opts.keep && pgs.kind === "existing") onCleanup(() => query(admin, `drop database if exists "${db}" with (force)`).then(() => {}));
  }
  await query(admin, `create database "${schema}"`);
  process.stderr.write(`schema only: ${schema}, migrated to 0001_schema; generating --scale ${opts.scale} --seed ${opts.seed}...\n`);
  await migrate(schema, "up", "--to", "0001_schema");
  const t0 = performance.now();
  const report = await generate({ url: pgs.url(schema), ...base });
  process.stderr.write(`generated ${report.totalRows.toLocaleString("en-US")} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  await query(admin, `comment on database "${schema}" is '${report.now.toISOString()}'`);
  process.stderr.write(`indexed: ${indexed}, a copy (CREATE DATABASE ... TEMPLATE) migrated to the latest migration...\n`);
  await query(admin, `create database "${indexed}" template "${schema}"`);
  const t1 = performance.now();
  await migrate(indexed);
  process.stderr.write(`migrated in ${((performance.now() - t1) / 1000).toFixed(0)} s\n`);
  // The migrations rewrote rows (0003, 0005): statistics and the visibility map as the generator leaves them.
  await query(pgs.url(indexed), "vacuum (analyze)");
  await fold();
  return { schema, indexed, plan: { ...base, now: report.now }, reused: false };
}

// ---------------------------------------------------------------------------
// What is measured

interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

interface Variant {
  /** "guide" (the guide's query) or "ours" (what the app sends). */
  source: "guide" | "ours";
  db: "schema" | "indexed";
  statements: Statement[];
  /** What the statements are, in a few words. */
  note: string;
}

interface Case {
  query: string;
  who: "heavy" | "light" | "-";
  /** The guide's "after" figure (ms), and ours must be 10x under it; null: the guide gives none. */
  guideAfterMs: number | null;
  variants: Variant[];
}

const GUIDE = {
  rowsByStatus: `SELECT * FROM "row" WHERE status = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT 10`,
  auth: `SELECT * FROM auth_session WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
  bids: `SELECT b.*, s.* FROM bid b LEFT JOIN seller s ON s.id = b.seller_id WHERE b.row_id = $1 ORDER BY b.created_at DESC`,
  comments: `SELECT * FROM comment WHERE row_id = $1 ORDER BY created_at`,
  counts: `SELECT
  (SELECT count(*) FROM "user") AS users,
  (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM "row" GROUP BY status) r) AS rows,
  (SELECT count(*) FROM bid) AS bids,
  (SELECT count(*) FROM bid WHERE is_selected) AS selected,
  (SELECT count(*) FROM auth_session WHERE revoked_at IS NULL AND expires_at > now()) AS sessions,
  (SELECT json_object_agg(handler, n) FROM (SELECT handler, count(*) AS n FROM clickout_event
     WHERE created_at > now() - interval '24 hours' GROUP BY handler) c) AS clickouts,
  (SELECT count(*) FROM clickout_event WHERE created_at > now() - interval '24 hours' AND is_suspicious) AS suspicious,
  (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM purchase_event GROUP BY status) p) AS purchases,
  (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM merchant GROUP BY status) m) AS merchants`,
};

/** The statements one call of core sends, captured at the driver. */
async function capture(log: Statement[], call: () => Promise<unknown>): Promise<Statement[]> {
  const from = log.length;
  await call();
  return log.slice(from);
}

async function buildCases(dbs: Databases, pgs: Postgres): Promise<Case[]> {
  const url = pgs.url(dbs.indexed);
  const one = async <T extends pg.QueryResultRow>(text: string, values: unknown[]) => {
    const [row] = await query<T>(url, text, values);
    if (!row) throw new Error(`no row for: ${text} ${JSON.stringify(values)}`);
    return row;
  };
  const tokens = activeTokens(dbs.plan, 100);
  const users = (["heavy", "light"] as const).map((kind) => tokens.find((t) => t.kind === kind)!);

  // Our statements, as core sends them: per request (as Lambda runs), unnamed statements.
  const log: Statement[] = [];
  const settings = parseConfig({ NODE_ENV: "production", DB_USE_NULL_POOL: "true" }).database;
  const app = createDatabase(settings, {
    target: { kind: "postgres", url, host: pgs.host, neon: false },
    observe: (sql, parameters) => log.push({ sql, parameters }),
  });
  const previous = Database.setDefault(app);
  const cases: Case[] = [];
  try {
    for (const user of users) {
      const who = user.kind;
      const credential = Session.credential(user.token);
      // The user's most common status; their row with the most bids, and with the most comments.
      const { status } = await one<{ status: string }>(
        `select status from "row" where user_id = $1 group by status order by count(*) desc, status limit 1`,
        [user.user_id],
      );
      const busy = await one<{ id: number; bids: number }>(`select id::int, bid_count as bids from "row" where user_id = $1 order by bid_count desc, id limit 1`, [user.user_id]);
      const talky = await one<{ id: number; comments: number }>(
        `select r.id::int, count(c.id)::int as comments from "row" r left join comment c on c.row_id = r.id where r.user_id = $1 group by r.id order by 2 desc, 1 limit 1`,
        [user.user_id],
      );
      const g = (sql: string, parameters: unknown[], note: string): Variant[] => [
        { source: "guide", db: "schema", statements: [{ sql, parameters }], note },
        { source: "guide", db: "indexed", statements: [{ sql, parameters }], note },
      ];
      const ours = async (note: string, call: () => Promise<unknown>): Promise<Variant> => ({ source: "ours", db: "indexed", statements: await capture(log, call), note });
      const tokenHash = credential.tokenHash;
      cases.push(
        {
          query: "rows by status",
          who,
          guideAfterMs: 5,
          variants: [
            ...g(GUIDE.rowsByStatus, [status, user.user_id], `status '${status}', user ${user.user_id} (${user.rows} rows), 10 newest`),
            await ours(`GET /api/rows?status=${status}: session check + first page (20)`, () => Row.list(credential, Row.ListQuery.parse({ status }))),
          ],
        },
        {
          query: "auth lookup by token",
          who,
          guideAfterMs: 1,
          variants: [
            ...g(GUIDE.auth, [tokenHash], "the active session of a token's sha256"),
            await ours("the session and its user (routes with auth: user/admin)", () => Session.authenticate(user.token, "user")),
          ],
        },
        {
          query: "a row's bids with sellers",
          who,
          guideAfterMs: 10,
          variants: [
            ...g(GUIDE.bids, [busy.id], `row ${busy.id}: all ${busy.bids} bids, eager-loaded sellers`),
            await ours(`GET /api/rows/${busy.id}/bids: session + ownership + first page (20) with sellers`, () => Bid.list(credential, busy.id, Bid.ListQuery.parse({}))),
            await ours(`GET /api/rows/${busy.id}: session + row + its 20 newest bids with sellers`, () => Row.fromID(credential, busy.id)),
          ],
        },
        {
          query: "a row's comments",
          who,
          guideAfterMs: null,
          variants: [
            ...g(GUIDE.comments, [talky.id], `row ${talky.id}: all ${talky.comments} comments, oldest first`),
            await ours(`GET /api/rows/${talky.id}/comments: ownership + first page (20)`, () => Comment.list(user.user_id, talky.id, Comment.ListQuery.parse({}))),
          ],
        },
      );
    }
    cases.push({
      query: "admin stats (counts)",
      who: "-",
      guideAfterMs: 500,
      variants: [
        ...(["schema", "indexed"] as const).map((db): Variant => ({ source: "guide", db, statements: [{ sql: GUIDE.counts, parameters: [] }], note: "the same counts over the base tables" })),
        { source: "ours", db: "indexed", statements: await capture(log, () => Admin.stats()), note: "GET /api/admin/stats: every count + its audit row" },
      ],
    });
  } finally {
    Database.setDefault(previous);
    await app.close();
  }
  return cases;
}

// ---------------------------------------------------------------------------
// Timing

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

const nodes = (p: PlanNode): PlanNode[] => [p, ...(p.Plans ?? []).flatMap(nodes)];

/** The plan's access paths: every scan, with its index or table, once each. */
function accessPaths(plan: PlanNode): string {
  const paths = nodes(plan)
    .filter((n) => /Scan/.test(n["Node Type"]) && (n["Index Name"] || n["Relation Name"]))
    .map((n) => `${n["Node Type"]} ${n["Index Name"] ? `using ${n["Index Name"]}` : `on ${n["Relation Name"]}`}`);
  return [...new Set(paths)].join("; ");
}

interface Measured {
  /** The client's wall time per execution (ms). */
  client: number[];
  /** The server's planning + execution per execution (ms), from EXPLAIN ANALYZE with TIMING OFF. */
  server: number[];
  resultRows: number;
  plan: string;
}

async function execute(client: pg.Client, v: Variant): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now();
  let rows = 0;
  for (const s of v.statements) rows += (await client.query({ text: s.sql, values: s.parameters as unknown[] })).rowCount ?? 0;
  return { ms: performance.now() - t0, rows };
}

/**
 * The server's time for the statements (planning + execution, no per-node timing, no
 * rows sent) and the plan's scans; rolled back, as our admin stats writes its audit row.
 */
async function explain(client: pg.Client, v: Variant): Promise<{ ms: number; plan: string }> {
  let ms = 0;
  const plans: string[] = [];
  await client.query("BEGIN");
  try {
    for (const s of v.statements) {
      const { rows } = await client.query<{ "QUERY PLAN": Array<{ Plan: PlanNode; "Planning Time": number; "Execution Time": number }> }>(
        `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${s.sql}`,
        s.parameters as unknown[],
      );
      const r = rows[0]!["QUERY PLAN"][0]!;
      plans.push(accessPaths(r.Plan));
      ms += r["Planning Time"] + r["Execution Time"];
    }
  } finally {
    await client.query("ROLLBACK");
  }
  return { ms, plan: plans.join(" + ") };
}

async function measureAll(cases: Case[], clients: Record<Variant["db"], pg.Client>, opts: Options): Promise<Map<Variant, Measured>> {
  const all = cases.flatMap((c) => c.variants);
  const results = new Map<Variant, Measured>(all.map((v) => [v, { client: [], server: [], resultRows: 0, plan: "" }]));
  process.stderr.write(`warming up ${all.length} statements...\n`);
  for (const v of all) results.get(v)!.resultRows = (await execute(clients[v.db], v)).rows;
  for (let round = 0; round < opts.rounds; round++) {
    const order = all.map((_, i) => all[(i + round * 7) % all.length]!);
    const t0 = performance.now();
    for (const v of order) {
      const m = results.get(v)!;
      const spent = m.client.reduce((a, b) => a + b, 0) + m.server.reduce((a, b) => a + b, 0);
      if (m.client.length >= 5 && spent > opts.budgetMs) continue;
      m.client.push((await execute(clients[v.db], v)).ms);
      const server = await explain(clients[v.db], v);
      m.server.push(server.ms);
      m.plan = server.plan;
    }
    process.stderr.write(`  round ${round + 1}/${opts.rounds}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  return results;
}

/** The floor under every client time: a round trip that does nothing. */
async function roundTrip(client: pg.Client, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds * 5; i++) out.push((await execute(client, { source: "ours", db: "indexed", statements: [{ sql: "SELECT 1", parameters: [] }], note: "" })).ms);
  return out;
}

// ---------------------------------------------------------------------------
// Report

interface Line {
  query: string;
  who: string;
  source: Variant["source"];
  db: Variant["db"];
  note: string;
  runs: number;
  client_median_ms: number;
  client_p95_ms: number;
  server_median_ms: number;
  server_p95_ms: number;
  /** The guide's query on the schema-only database over this line, server medians. */
  speedup: number | null;
  result_rows: number;
  plan: string;
}

type Result = "PASS" | "MISS" | "n/a";

interface Verdict {
  query: string;
  guide_after_ms: number | null;
  target_ms: number | null;
  /** Our worst median (heavy or light user, every statement of ours for the query). */
  server_ms: number;
  client_ms: number;
  server_result: Result;
  client_result: Result;
}

function report(cases: Case[], results: Map<Variant, Measured>): { lines: Line[]; verdicts: Verdict[] } {
  const lines: Line[] = [];
  for (const c of cases) {
    const before = latency(results.get(c.variants.find((v) => v.db === "schema")!)!.server).p50_ms;
    for (const v of c.variants) {
      const m = results.get(v)!;
      const [client, server] = [latency(m.client), latency(m.server)];
      lines.push({
        query: c.query,
        who: c.who,
        source: v.source,
        db: v.db,
        note: v.note,
        runs: m.client.length,
        client_median_ms: client.p50_ms,
        client_p95_ms: client.p95_ms,
        server_median_ms: server.p50_ms,
        server_p95_ms: server.p95_ms,
        speedup: v.db === "schema" ? null : before / server.p50_ms,
        result_rows: m.resultRows,
        plan: m.plan,
      });
    }
  }
  const verdicts = [...new Set(cases.map((c) => c.query))].map((q): Verdict => {
    const guideAfter = cases.find((c) => c.query === q)!.guideAfterMs;
    const ours = lines.filter((l) => l.query === q && l.source === "ours");
    const worst = (k: "server_median_ms" | "client_median_ms") => Math.max(...ours.map((l) => l[k]));
    const target = guideAfter === null ? null : guideAfter / 10;
    const judge = (v: number): Result => (target === null ? "n/a" : v <= target ? "PASS" : "MISS");
    const [server, client] = [worst("server_median_ms"), worst("client_median_ms")];
    return { query: q, guide_after_ms: guideAfter, target_ms: target, server_ms: server, client_ms: client, server_result: judge(server), client_result: judge(client) };
  });
  return { lines, verdicts };
}

const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toFixed(3));

function table(headers: string[], rows: string[][], markdown: boolean, left = 2): string {
  if (markdown) {
    const line = (c: string[]) => `| ${c.map((x) => x.replaceAll("|", "\\|")).join(" | ")} |`;
    return [line(headers), line(headers.map((_, i) => (i < left || i === headers.length - 1 ? "---" : "---:"))), ...rows.map(line)].join("\n");
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i < left || i === c.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function mainTable(lines: Line[], markdown: boolean): string {
  const label = (l: Line) => `${l.source === "guide" ? "guide's query" : "ours"}, ${l.db === "schema" ? "schema only" : "indexed"}`;
  return table(
    ["query", "user", "statement", "server median ms", "server p95 ms", "client median ms", "client p95 ms", "runs", "speedup", "rows", "plan"],
    lines.map((l) => [
      l.query,
      l.who,
      label(l),
      ms(l.server_median_ms),
      ms(l.server_p95_ms),
      ms(l.client_median_ms),
      ms(l.client_p95_ms),
      String(l.runs),
      l.speedup === null ? "before" : `${l.speedup >= 100 ? l.speedup.toFixed(0) : l.speedup.toFixed(1)}x`,
      String(l.result_rows),
      l.plan,
    ]),
    markdown,
    3,
  );
}

function verdictTable(verdicts: Verdict[], markdown: boolean): string {
  return table(
    ["query", "guide after", "target (10x better)", "ours, server", "result", "ours, client", "result"],
    verdicts.map((v) => [
      v.query,
      v.guide_after_ms === null ? "-" : `${v.guide_after_ms} ms`,
      v.target_ms === null ? "-" : `${v.target_ms} ms`,
      `${ms(v.server_ms)} ms`,
      v.server_result,
      `${ms(v.client_ms)} ms`,
      v.client_result,
    ]),
    markdown,
    1,
  );
}

async function machine(pgs: Postgres, dbs: Databases, loadStart: number[]) {
  const sizes = await query<{ db: string; size: string }>(
    pgs.url("postgres"),
    "select datname as db, pg_size_pretty(pg_database_size(datname)) as size from pg_database where datname = any($1)",
    [[dbs.schema, dbs.indexed]],
  );
  const counts = await query<Record<string, string>>(pgs.url(dbs.indexed), `select ${TABLES.map((t) => `(select count(*) from "${t}") as "${t}"`).join(", ")}`);
  return {
    cpu_model: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    load_average_start: loadStart,
    load_average_end: loadavg(),
    node: process.version,
    postgres: { version: pgs.info.version, instance: pgs.kind, shared_buffers: pgs.info.shared_buffers },
    database_sizes: Object.fromEntries(sizes.map((s) => [s.db, s.size])),
    rows: Object.fromEntries(Object.entries(counts[0]!).map(([t, n]) => [t, Number(n)])),
  };
}

// ---------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  if (!opts) {
    process.stdout.write(USAGE);
    return;
  }
  const started = new Date();
  const loadStart = loadavg();
  const pgs = opts.postgres === "private" ? await startPrivatePostgres(20) : await existingPostgres(opts.postgres);
  const dbs = await prepareDatabases(pgs, opts);
  const cases = await buildCases(dbs, pgs);
  const clients = { schema: new pg.Client({ connectionString: pgs.url(dbs.schema) }), indexed: new pg.Client({ connectionString: pgs.url(dbs.indexed) }) };
  await Promise.all(Object.values(clients).map((c) => c.connect()));
  let results: Map<Variant, Measured>;
  let floor: number[];
  try {
    results = await measureAll(cases, clients, opts);
    floor = await roundTrip(clients.indexed, opts.rounds);
  } finally {
    await Promise.allSettled(Object.values(clients).map((c) => c.end()));
  }
  const { lines, verdicts } = report(cases, results);
  const m = await machine(pgs, dbs, loadStart);
  const machineLine =
    `${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB; load average ${m.load_average_start.map((l) => l.toFixed(2)).join(" ")} at start, ` +
    `${m.load_average_end.map((l) => l.toFixed(2)).join(" ")} at end; Postgres ${m.postgres.version} (${m.postgres.instance} instance, shared_buffers ${m.postgres.shared_buffers}); Node ${m.node}`;
  const dataLine =
    `--scale ${opts.scale} --seed ${opts.seed}: ${Object.entries(m.rows).map(([t, n]) => `${t} ${n.toLocaleString("en-US")}`).join(", ")}; ` +
    `databases ${Object.entries(m.database_sizes).map(([d, s]) => `${d} ${s}`).join(", ")}`;
  const runLine = `${opts.rounds} rounds, every statement once a round in a rotated order (a statement stops after ${opts.budgetMs / 1000} s of runs, with at least 5); one pg connection per database; ours as sent per request (unnamed statements, planned each time)`;
  const floorLine = `a round trip that does nothing (SELECT 1) takes ${ms(latency(floor).p50_ms)} ms at the client (median, p95 ${ms(latency(floor).p95_ms)} ms): the floor under every client time`;
  const legend = [
    "server: EXPLAIN (ANALYZE, TIMING OFF)'s planning + execution of the statement, every round (no rows sent); client: the wall time of the",
    "same statement executed as the app does, at the client (what a request waits for); speedup: server medians, the guide's query on the",
    "schema-only database over this line; plan: the scans of its plan.",
  ];
  const out = [
    "",
    `Queries, ${started.toISOString()}`,
    `machine: ${machineLine}`,
    `data: ${dataLine}`,
    runLine,
    floorLine,
    "",
    mainTable(lines, false),
    "",
    ...legend,
    "",
    "Targets (ours at least 10x faster than the guide's after figure):",
    verdictTable(verdicts, false),
  ];
  process.stdout.write(`${out.join("\n")}\n`);

  mkdirSync(RESULTS, { recursive: true });
  const stamp = started.toISOString().slice(0, 16).replace(/[:T]/g, (c) => (c === "T" ? "-" : ""));
  const base = join(RESULTS, `queries-${stamp}`);
  const statements = Object.fromEntries(cases.flatMap((c) => c.variants.map((v) => [`${c.query} | ${c.who} | ${v.source} | ${v.db} | ${v.note}`, v.statements])));
  const json = { started_at: started.toISOString(), finished_at: new Date().toISOString(), options: opts, machine: m, dataset_now: dbs.plan.now, lines, verdicts, statements, round_trip_ms: floor, samples: cases.flatMap((c) => c.variants).map((v, i) => ({ ...lines[i]!, client_ms: results.get(v)!.client, server_ms: results.get(v)!.server })) };
  const md = [
    `# Queries, ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `Machine: ${machineLine}.`,
    "",
    `Data: ${dataLine}.`,
    "",
    `${runLine}; ${floorLine}.`,
    "",
    legend.join(" "),
    "",
    mainTable(lines, true),
    "",
    "Targets (ours at least 10x faster than the guide's after figure):",
    "",
    verdictTable(verdicts, true),
    "",
  ].join("\n");
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  copyFileSync(`${base}.json`, join(RESULTS, "queries-latest.json"));
  copyFileSync(`${base}.md`, join(RESULTS, "queries-latest.md"));
  process.stderr.write(`\nwrote ${base}.json, ${base}.md and queries-latest.{json,md}${opts.keep ? `; kept ${dbs.schema} and ${dbs.indexed}` : ""}\n`);
}

await runBenchmark("bench:queries", USAGE, () => main(process.argv.slice(2)));
