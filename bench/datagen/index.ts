import { once } from "node:events";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Model, TABLES, type Counts, type PlanOptions, type Table } from "./model.ts";
import { writers, type Task } from "./tables.ts";
import { countAll } from "@shop/migrations/migrations/0010_stat_counts";

/**
 * The test data generator: a realistic, skewed, deterministic Shopping Agent
 * dataset, bulk-loaded with COPY over a few parallel streams.
 *
 *   const report = await generate({ url, rows: 1000, bidsPerRow: 50, seed: 1 });
 *
 * `bench/datagen/cli.ts` (`npm run db:generate`) is the command-line face of it.
 */

export { activeTokens } from "./sessions.ts";
export { countsFor, SCALES, TABLES, type PlanOptions, type Table } from "./model.ts";

interface GenerateOptions extends PlanOptions {
  /** A postgres:// URL of a migrated database. */
  url: string;
  /** Truncate every app table first; without it, a table that has data is an error. */
  reset?: boolean;
  /** Parallel COPY streams (connections). */
  jobs?: number;
  /** Rows per COPY statement at most (big tables are split into several). */
  taskRows?: number;
  /** Called as batches are sent. */
  onProgress?: (table: Table, rows: number) => void;
  /** Called when a stage (check, load, verify, analyze) begins. */
  onStage?: (stage: string) => void;
  /**
   * "after" (the default when the role may): COPY with the foreign-key triggers off
   * (`session_replication_role = replica`, as pg_restore --disable-triggers) and check every
   * foreign key once, set-wise, after the load. "triggers": let Postgres check each row as it
   * arrives (what a role without that privilege gets; several times slower).
   */
  foreignKeys?: "after" | "triggers";
}

interface TableReport {
  table: Table;
  rows: number;
  /** Time its COPY statements took, summed over streams (tables load side by side: these overlap). */
  ms: number;
  rowsPerSecond: number;
}

export interface Report {
  counts: Counts;
  tables: TableReport[];
  totalRows: number;
  /** Everything: checks, load, sequences, VACUUM (ANALYZE). */
  wallMs: number;
  loadMs: number;
  analyzeMs: number;
  rowsPerSecond: number;
  /** How foreign keys were checked (see GenerateOptions.foreignKeys). */
  foreignKeys: "after" | "triggers";
  /** process.resourceUsage().maxRSS, in bytes. */
  peakRssBytes: number;
  seed: string;
  now: Date;
}

/** Raised when the target already has data and `reset` was not asked for. */
export class NotEmptyError extends Error {
  override name = "NotEmptyError";
  readonly tables: Table[];
  constructor(tables: Table[]) {
    super(
      `refusing to write into a database that already has data (in ${tables.join(", ")}): ` +
        "pass --reset (reset: true) to TRUNCATE every app table first, which deletes all of their data",
    );
    this.tables = tables;
  }
}

const quote = (table: Table) => `"${table}"`;

async function connect(url: string, foreignKeys: "after" | "triggers"): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "shop-datagen" });
  await client.connect();
  // Test data: losing the last commits in a crash costs nothing, waiting for each WAL flush costs time.
  await client.query("SET synchronous_commit = off");
  if (foreignKeys === "after") await client.query("SET session_replication_role = replica");
  return client;
}

/** Link tokens' columns: the token, and its hash from 0009_token_hashes on (a database may be migrated part of the way). */
async function tokenColumns(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query(
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'share_link' AND column_name = 'token_hash'",
  );
  return rows.length > 0 ? ["token", "token_hash"] : ["token"];
}

/** "after" if this role may switch the foreign-key triggers off (superuser, or GRANT SET ON PARAMETER). */
async function foreignKeyMode(url: string, asked: GenerateOptions["foreignKeys"]): Promise<"after" | "triggers"> {
  if (asked === "triggers") return "triggers";
  const client = await connect(url, "triggers");
  try {
    await client.query("SET session_replication_role = replica");
    return "after";
  } catch (err) {
    if (asked === "after" || (err as { code?: string }).code !== "42501") throw err;
    return "triggers";
  } finally {
    await client.end();
  }
}

/**
 * Every table holds exactly ids 1..count (the primary key is unique, so count,
 * min and max pin the set down), and every foreign key lies within 1..count of
 * the table it references: together, every reference resolves. One scan per table.
 */
async function verify(clients: pg.Client[], counts: Counts): Promise<void> {
  const { rows: fks } = await clients[0]!.query<{ child: string; column: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, a.attname AS column, c.confrelid::regclass::text AS parent
       FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND cardinality(c.conkey) = 1`,
  );
  const unquote = (name: string) => name.replace(/^"|"$/g, "") as Table;
  const problems: string[] = [];
  await pool(clients, [...TABLES], async (client, table) => {
    const own = fks.filter((fk) => unquote(fk.child) === table);
    const { rows } = await client.query<Record<string, string | null>>(
      `SELECT count(*) AS n, min(id) AS lo, max(id) AS hi${own
        .map((fk, i) => `, min(${fk.column}) AS lo${i}, max(${fk.column}) AS hi${i}`)
        .join("")} FROM ${quote(table)}`,
    );
    const r = rows[0]!;
    const n = counts[table];
    if (Number(r.n) !== n || (n > 0 && (Number(r.lo) !== 1 || Number(r.hi) !== n))) {
      problems.push(`${table} holds ${r.n} rows with ids ${r.lo}..${r.hi}, expected 1..${n}`);
    }
    own.forEach((fk, i) => {
      const parent = unquote(fk.parent);
      const lo = r[`lo${i}`];
      const hi = r[`hi${i}`];
      if (lo !== null && (Number(lo) < 1 || Number(hi) > counts[parent])) {
        problems.push(`${table}.${fk.column} spans ${lo}..${hi}, but ${parent} has ids 1..${counts[parent]}`);
      }
    });
  });
  if (problems.length) throw new Error(`datagen: generated data is inconsistent: ${problems.join("; ")}`);
}

/** Checks the schema is there and empty (or empties it with `reset`). */
async function prepare(client: pg.Client, reset: boolean): Promise<void> {
  const { rows: present } = await client.query<{ relname: string }>(
    "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace AND relname = ANY($1)",
    [TABLES],
  );
  const missing = TABLES.filter((t) => !present.some((p) => p.relname === t));
  if (missing.length) {
    throw new Error(`the database has no ${missing.join(", ")} table: run \`npm run migrate\` against it first`);
  }
  if (reset) {
    await client.query(`TRUNCATE TABLE ${TABLES.map(quote).join(", ")} RESTART IDENTITY CASCADE`);
    return;
  }
  const { rows } = await client.query<Record<Table, boolean>>(
    `SELECT ${TABLES.map((t) => `EXISTS (SELECT 1 FROM ${quote(t)}) AS ${quote(t)}`).join(", ")}`,
  );
  const nonEmpty = TABLES.filter((t) => rows[0]![t]);
  if (nonEmpty.length) throw new NotEmptyError(nonEmpty);
}

/** Streams one task into one COPY, waiting for the socket whenever it is full. */
async function copy(client: pg.Client, columns: readonly string[], task: Task, onProgress?: GenerateOptions["onProgress"]) {
  const stream = client.query(copyFrom(`COPY ${quote(task.table)} (${columns.join(", ")}) FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on("finish", resolve);
    stream.on("error", reject);
  });
  done.catch(() => {}); // awaited below; a failure mid-stream surfaces at the next batch
  let failed: unknown = null;
  stream.on("error", (err) => (failed = err));
  await task.run(async (chunk, rows) => {
    if (failed) throw failed;
    onProgress?.(task.table, rows);
    if (!stream.write(chunk)) await Promise.race([once(stream, "drain"), done]);
  });
  stream.end();
  await done;
}

/** Runs jobs over the connections, one job per connection at a time, in order. */
async function pool<T>(clients: pg.Client[], jobs: T[], run: (client: pg.Client, job: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < jobs.length) await run(client, jobs[next++]!);
    }),
  );
}

/**
 * Runs COPY tasks over the connections, biggest first, but preferring a table
 * that no other stream is loading: streams into one table contend for its
 * relation-extension lock, streams into different tables do not.
 */
async function copyAll(clients: pg.Client[], tasks: Task[], run: (client: pg.Client, task: Task) => Promise<void>) {
  const waiting = [...tasks].sort((a, b) => b.rows - a.rows);
  const busy = new Map<Table, number>();
  await Promise.all(
    clients.map(async (client) => {
      while (waiting.length > 0) {
        const free = waiting.findIndex((t) => !busy.get(t.table));
        const [task] = waiting.splice(free === -1 ? 0 : free, 1) as [Task];
        busy.set(task.table, (busy.get(task.table) ?? 0) + 1);
        try {
          await run(client, task);
        } finally {
          busy.set(task.table, busy.get(task.table)! - 1);
        }
      }
    }),
  );
}

/** Generates a dataset into an empty (or, with `reset`, emptied) migrated database. */
export async function generate(options: GenerateOptions): Promise<Report> {
  const started = performance.now();
  const model = new Model(options);
  const jobs = Math.max(1, options.jobs ?? 3);
  const foreignKeys = await foreignKeyMode(options.url, options.foreignKeys);
  const busyMs = new Map<Table, number>();

  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < jobs; i++) clients.push(await connect(options.url, foreignKeys));
    const all = writers(model, await tokenColumns(clients[0]!));
    const columns = new Map(all.map((w) => [w.table, w.columns]));
    const tasks = all.flatMap((w) => w.tasks(options.taskRows ?? 250_000));
    options.onStage?.("check");
    await prepare(clients[0]!, options.reset ?? false);

    options.onStage?.("load");
    const loadStarted = performance.now();
    // With the triggers on, a table loads once the tables it references are committed;
    // with them off, everything can go at once.
    const phaseOf = (t: Task) => (foreignKeys === "triggers" ? t.phase : 0);
    const phases = [...new Set(tasks.map(phaseOf))].sort((a, b) => a - b);
    for (const phase of phases) {
      await copyAll(clients, tasks.filter((t) => phaseOf(t) === phase), async (client, task) => {
        const t0 = performance.now();
        await copy(client, columns.get(task.table)!, task, options.onProgress);
        busyMs.set(task.table, (busyMs.get(task.table) ?? 0) + performance.now() - t0);
      });
    }
    // A row names its selected bid and counts its bids, as the app's select and the bid triggers
    // (off during the load in "after" mode) leave them; a database migrated only part of the way
    // (0001 alone, for bench:queries) may have neither column yet: the migrations fill them.
    const derived = { selected_bid_id: "b.selected", bid_count: "b.n" };
    const { rows: present } = await clients[0]!.query<{ name: keyof typeof derived }>(
      `SELECT column_name AS name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'row' AND column_name = ANY($1)`,
      [Object.keys(derived)],
    );
    if (present.length > 0) {
      await clients[0]!.query(
        `UPDATE "row" SET ${present.map((c) => `${c.name} = ${derived[c.name]}`).join(", ")}
         FROM (SELECT row_id, count(*)::int AS n, max(id) FILTER (WHERE is_selected) AS selected FROM bid GROUP BY row_id) b
         WHERE b.row_id = "row".id`,
      );
    }
    // The admin counts (0010) as its triggers would have kept them, which were off during the load.
    const { rows: counted } = await clients[0]!.query("SELECT 1 FROM pg_class WHERE relname = 'stat_delta' AND relnamespace = current_schema()::regnamespace");
    if (counted.length > 0) await clients[0]!.query(`TRUNCATE stat_delta; ${countAll}`);
    const loadMs = performance.now() - loadStarted;

    options.onStage?.("verify");
    await verify(clients, model.counts);

    // Ids were written explicitly (COPY takes them even for GENERATED ALWAYS): move each
    // identity past them so that the app's own inserts continue after the generated data.
    await clients[0]!.query(
      TABLES.map(
        (t) => `SELECT setval(pg_get_serial_sequence('${quote(t)}', 'id'), ${model.counts[t] + 1}, false);`,
      ).join("\n"),
    );

    options.onStage?.("analyze");
    const analyzeStarted = performance.now();
    await pool(clients, [...TABLES].sort((a, b) => model.counts[b] - model.counts[a]), (client, t) =>
      client.query(`VACUUM (ANALYZE) ${quote(t)}`).then(() => {}),
    );
    const analyzeMs = performance.now() - analyzeStarted;

    const wallMs = performance.now() - started;
    const totalRows = TABLES.reduce((sum, t) => sum + model.counts[t], 0);
    return {
      counts: model.counts,
      tables: TABLES.map((table) => {
        const ms = busyMs.get(table) ?? 0;
        const rows = model.counts[table];
        return { table, rows, ms, rowsPerSecond: ms > 0 ? rows / (ms / 1000) : 0 };
      }),
      totalRows,
      wallMs,
      loadMs,
      analyzeMs,
      rowsPerSecond: totalRows / (wallMs / 1000),
      foreignKeys,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      seed: model.seed,
      now: new Date(model.now),
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.end()));
  }
}
