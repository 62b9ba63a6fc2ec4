/**
 * npm run bench:soak -- [--duration 120] [--read-clients 32] [--write-clients 32]
 *                       [--max-connections 20] [--pool 10] [--quick]
 *
 * Nothing lost behind a pooler: our server per request (as deployed) behind
 * PgBouncer in transaction mode, in front of a throwaway Postgres with few
 * connection slots; bench:load's reads plus writes (comments, clickouts,
 * purchases with idempotency keys, bid selects) from more clients than the
 * server has slots. Meanwhile the newest index migration runs (concurrent
 * builds under traffic) and a request waits behind a row lock (the statement
 * timeout through the pooler). Afterwards every acknowledged write must be in
 * the database, once; exits 1 if not. docs/reliability.md explains it all.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Kysely } from "kysely";
import pg from "pg";
import { parseConfig } from "@shop/core/config";
import { migrations } from "@shop/migrations/migrations/index";
import { openMigrationDatabase, runOptionsFrom, type MigrationEvent } from "@shop/migrations/runner";
import { checkWrites, startTraffic, statusesByKind, type Actor, type Outcome, type WriteCheck } from "../tests/support/traffic.ts";
import { prepareDataset } from "./lib/dataset.ts";
import { runHttp } from "./lib/http-load.ts";
import { pgbouncerVersion, startPgBouncer } from "./lib/pgbouncer.ts";
import { query, scratchDir, startPrivatePostgres } from "./lib/postgres.ts";
import { freePort, run, runBenchmark, startChild, waitForHttp } from "./lib/procs.ts";
import { latency } from "./lib/stats.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const STATEMENT_TIMEOUT_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const USAGE = `usage: npm run bench:soak -- [options]

  --duration S         seconds of traffic (default 120; --quick: 20); "90s" and "2m" work too
  --read-clients N     bench:load's reads, concurrent connections (default 32; --quick: 16)
  --write-clients N    concurrent writers (default 32; --quick: 16)
  --max-connections N  the throwaway server's max_connections (default 20)
  --pool N             PgBouncer's server connections (default_pool_size, default 10)
  --quick              the CI version: short, a smaller dataset, no result files
`;

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      "read-clients": { type: "string" },
      "write-clients": { type: "string" },
      "max-connections": { type: "string" },
      pool: { type: "string" },
      quick: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const quick = values.quick ?? false;
  const num = (name: string, raw: string | undefined, fallback: number) => {
    const m = raw === undefined ? null : /^(\d+)(s|m)?$/.exec(raw.trim());
    if (raw !== undefined && !m) throw new Error(`--${name} must be a whole number (got "${raw}")\n\n${USAGE}`);
    return m ? Number(m[1]) * (m[2] === "m" ? 60 : 1) : fallback;
  };
  return {
    quick,
    durationS: num("duration", values.duration, quick ? 20 : 120),
    readClients: num("read-clients", values["read-clients"], quick ? 16 : 32),
    writeClients: num("write-clients", values["write-clients"], quick ? 16 : 32),
    maxConnections: num("max-connections", values["max-connections"], 20),
    pool: num("pool", values.pool, 10),
  };
}

/** The peaks of PgBouncer's SHOW POOLS and of the server's backends, sampled every second. */
interface Connections {
  client_peak: number;
  client_waiting_peak: number;
  server_active_peak: number;
  max_wait_s: number;
  postgres_backends_peak: number;
}

async function main(argv: string[]): Promise<boolean> {
  const opts = parseOptions(argv);
  if (!opts) {
    process.stdout.write(USAGE);
    return true;
  }
  const started = new Date();
  process.stderr.write(
    `soak: ${opts.durationS} s, ${opts.readClients} readers + ${opts.writeClients} writers, max_connections ${opts.maxConnections}, PgBouncer pool ${opts.pool}\n`,
  );
  const pgServer = await startPrivatePostgres(opts.maxConnections);
  const db = "soak";
  const direct = pgServer.url(db);
  const users = await prepareDataset(pgServer, db, scratchDir("bench-soak-"), { rows: opts.quick ? 300 : 1000, bidsPerRow: 20, tokens: 100 });
  const bids = await query<{ user_id: number; row_id: number; ids: number[] }>(
    direct,
    `select distinct on (r.user_id) r.user_id::int, r.id::int as row_id, array(select b.id::int from bid b where b.row_id = r.id order by b.id limit 5) as ids
       from "row" r where r.user_id = any($1::int[]) and r.bid_count > 0 order by r.user_id, r.id`,
    [users.map((u) => u.userId)],
  );
  const actors: Actor[] = bids.map((b) => ({ userId: b.user_id, token: users.find((u) => u.userId === b.user_id)!.token, rowId: b.row_id, bidIds: b.ids }));
  const locked = actors.pop()!; // kept out of the traffic: its row is the one held by a lock
  const writers = Math.min(opts.writeClients, actors.length);

  // The newest index migration, undone before the traffic and applied again under it, as a deploy would.
  const config = parseConfig({ NODE_ENV: "production", DATABASE_URL: direct });
  const migrator = openMigrationDatabase(config);
  const migration = migrations.filter((m) => m.changes).at(-1)!;
  const events: MigrationEvent[] = [];
  const runOptions = runOptionsFrom(config, { log: (e) => events.push(e) });
  await migrator.use((m) => migration.down(m as Kysely<any>, runOptions), { pinned: true });

  const bouncer = await startPgBouncer({ host: pgServer.host, port: pgServer.port, user: "postgres" }, opts.pool);
  const port = await freePort();
  const server = startChild(process.execPath, [join(ROOT, "packages/functions/src/local/main.ts")], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      PORT: String(port),
      DATABASE_URL: `postgres://postgres@${bouncer.host}:${bouncer.port}/${db}`,
      DB_DRIVER: "pg",
      DB_USE_NULL_POOL: "true",
      DB_POOL_TIMEOUT: "10",
      DB_STATEMENT_TIMEOUT: String(STATEMENT_TIMEOUT_S),
    },
  });
  // The server's error log lines (5xx), by message.
  const serverErrors: Record<string, number> = {};
  let partial = "";
  server.proc.stderr!.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const entry = /^\{/.test(line) ? (JSON.parse(line) as { level?: string; error?: string }) : null;
      if (entry?.level === "error") serverErrors[entry.error ?? "?"] = (serverErrors[entry.error ?? "?"] ?? 0) + 1;
    }
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`, server);

  // Connections at the pooler and the server, every second.
  const admin = new pg.Client({ connectionString: `postgres://postgres@${bouncer.host}:${bouncer.port}/pgbouncer` });
  await admin.connect();
  const connections: Connections = { client_peak: 0, client_waiting_peak: 0, server_active_peak: 0, max_wait_s: 0, postgres_backends_peak: 0 };
  const sampler = setInterval(() => {
    void admin.query<Record<string, string>>("SHOW POOLS").then(({ rows }) => {
      const pool = rows.find((r) => r.database === db);
      if (!pool) return;
      const n = (k: string) => Number(pool[k] ?? 0);
      connections.client_peak = Math.max(connections.client_peak, n("cl_active") + n("cl_waiting"));
      connections.client_waiting_peak = Math.max(connections.client_waiting_peak, n("cl_waiting"));
      connections.server_active_peak = Math.max(connections.server_active_peak, n("sv_active"));
      connections.max_wait_s = Math.max(connections.max_wait_s, n("maxwait") + n("maxwait_us") / 1e6);
    }, () => {});
    connections.postgres_backends_peak = Math.max(connections.postgres_backends_peak, pgServer.backends(db) ?? 0);
  }, 1000);

  process.stderr.write(`traffic for ${opts.durationS} s...\n`);
  const since = new Date();
  const t0 = performance.now();
  const traffic = startTraffic({ url, actors, workers: writers, mix: { comment: 2, clickout: 2, purchase: 1, select: 1 } });
  const reads = runHttp({ url, users, connections: opts.readClients, durationS: opts.durationS, seed: 1 });

  // A fifth of the way in: the migration, with everything still running.
  await sleep(opts.durationS * 200);
  events.length = 0; // the undo's events are not the migration's
  const window = { from: performance.now() - t0, to: 0 };
  let migrationError: string | null = null;
  await migrator.use((m) => migration.up(m as Kysely<any>, runOptions), { pinned: true }).catch((err: Error) => (migrationError = err.message));
  window.to = performance.now() - t0;
  await migrator.close();
  process.stderr.write(`  ${migration.name} applied under traffic in ${((window.to - window.from) / 1000).toFixed(1)} s\n`);

  // Halfway: a request behind a row lock, through PgBouncer, must get its 503 at DB_STATEMENT_TIMEOUT.
  await sleep(Math.max(0, opts.durationS * 500 - (performance.now() - t0)));
  const lockCheck = await behindALock(url, direct, locked);
  process.stderr.write(`  behind a lock: ${lockCheck.status} after ${lockCheck.ms.toFixed(0)} ms\n`);

  const read = await reads;
  const ledger = await traffic.stop();
  clearInterval(sampler);
  const stats = (await admin.query<Record<string, string>>("SHOW STATS")).rows.find((r) => r.database === db) ?? {};
  await admin.end();
  const check = await checkWrites(direct, ledger, actors, since);
  const verify = await run("npm", ["run", "--silent", "migrate", "--", "verify"], { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: direct }, cwd: ROOT }).then(
    (out) => ({ ok: true, out: out.trim().split("\n").at(-1)! }),
    (err: Error) => ({ ok: false, out: err.message }),
  );

  // ---- report
  const writes = traffic.outcomes;
  const inWindow = writes.filter((o) => o.at >= window.from && o.at <= window.to);
  const kinds = statusesByKind(writes);
  const rows = [
    { kind: "read (bench:load mix)", n: read.latencies.length, statuses: { ...read.statuses, ...(read.errors ? { none: read.errors } : {}) }, lat: latency(read.latencies) },
    ...Object.entries(kinds).map(([kind, statuses]) => {
      const of = writes.filter((o) => o.kind === kind);
      return { kind, n: of.length, statuses, lat: latency(of.map((o) => o.ms)) };
    }),
  ];
  const all500 = rows.reduce((a, r) => a + Object.entries(r.statuses).filter(([s]) => s.startsWith("5") && s !== "503").reduce((b, [, n]) => b + n, 0), 0);
  const failedInWindow = inWindow.filter((o) => o.status < 200 || o.status >= 300).length + read.non2xx + read.errors;
  const verdicts: Array<[string, boolean, string]> = [
    ["every acknowledged write is in the database", check.lost === 0, `${check.lost} lost of ${sum(check.acknowledged)}`],
    ["nothing in the database that no request made", check.phantoms === 0, `${check.phantoms} phantoms`],
    ["no duplicate purchase (one per idempotency key, replays answer the same one)", check.duplicates === 0, `${check.duplicates} duplicates`],
    ["no half-applied write (bid counts, selected bids)", check.inconsistentRows === 0, `${check.inconsistentRows} rows disagree`],
    ["no 500", all500 === 0, `${all500} 5xx other than 503`],
    [
      `statement behind a lock answers 503 at DB_STATEMENT_TIMEOUT (${STATEMENT_TIMEOUT_S} s) through PgBouncer, nothing left waiting`,
      lockCheck.status === 503 && lockCheck.waitingAfter === 0 && lockCheck.after === 200,
      `${lockCheck.status} after ${lockCheck.ms.toFixed(0)} ms; ${lockCheck.waitingAfter} still waiting; next request ${lockCheck.after}`,
    ],
    [`${migration.name} applied under traffic`, migrationError === null, migrationError ?? `${((window.to - window.from) / 1000).toFixed(1)} s`],
    ["no request failed while it ran (reads: the whole run)", failedInWindow === 0, `${inWindow.length} writes in the window, ${failedInWindow} failed`],
    ["every index valid (npm run migrate -- verify)", verify.ok, verify.out],
  ];
  const ok = verdicts.every(([, pass]) => pass);
  const result = {
    started_at: started.toISOString(),
    options: opts,
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_average_end: loadavg(), node: process.version },
    postgres: pgServer.info,
    pgbouncer: { version: pgbouncerVersion(), pool_mode: "transaction", default_pool_size: opts.pool },
    server: { mode: "per-request", DB_STATEMENT_TIMEOUT: STATEMENT_TIMEOUT_S, DB_POOL_TIMEOUT: 10 },
    requests: rows.map((r) => ({ kind: r.kind, requests: r.n, rps: r.n / opts.durationS, statuses: r.statuses, p50_ms: r.lat.p50_ms, p95_ms: r.lat.p95_ms, p99_ms: r.lat.p99_ms, max_ms: r.lat.max_ms })),
    writes: check,
    connections,
    pgbouncer_stats: stats,
    statement_timeout: lockCheck,
    migration: { name: migration.name, seconds: (window.to - window.from) / 1000, error: migrationError, events, writes_in_window: statusCounts(inWindow), verify: verify.out },
    server_errors: serverErrors,
    verdicts: verdicts.map(([name, pass, detail]) => ({ name, pass, detail })),
  };
  const md = markdown(result, verdicts);
  process.stdout.write(`\n${md}`);
  if (!opts.quick) {
    mkdirSync(RESULTS, { recursive: true });
    const base = join(RESULTS, `soak-${started.toISOString().slice(0, 16).replace("T", "-").replace(":", "")}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${base}.md`, md);
    copyFileSync(`${base}.json`, join(RESULTS, "soak-latest.json"));
    copyFileSync(`${base}.md`, join(RESULTS, "soak-latest.md"));
    process.stderr.write(`\nwrote ${base}.json, ${base}.md and soak-latest.{json,md}\n`);
  }
  return ok;
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

function statusCounts(outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) out[o.status || "none"] = (out[o.status || "none"] ?? 0) + 1;
  return out;
}

/** Holds `actor`'s row with SELECT … FOR UPDATE, PATCHes it through the server, and sees what is left behind. */
async function behindALock(url: string, direct: string, actor: Actor) {
  const holder = new pg.Client({ connectionString: direct });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query("select 1 from row where id = $1 for update", [actor.rowId]);
    const patch = (title: string) =>
      fetch(`${url}/api/rows/${actor.rowId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${actor.token}`, "content-type": "application/json" },
        body: JSON.stringify({ title }),
      });
    const t = performance.now();
    const res = await patch("behind a lock");
    const ms = performance.now() - t;
    const { rows } = await holder.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and pid <> pg_backend_pid()",
    );
    await holder.query("rollback");
    return { status: res.status, ms, waitingAfter: rows[0]!.n, after: (await patch("no lock now")).status };
  } finally {
    await holder.end();
  }
}

function markdown(r: {
  started_at: string;
  options: { durationS: number; readClients: number; writeClients: number; maxConnections: number; pool: number };
  machine: { cpu?: string; cores: number; load_average_end: number[]; node: string };
  postgres: { version: string };
  pgbouncer: { version: string };
  requests: Array<{ kind: string; requests: number; rps: number; statuses: Record<string, number>; p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number }>;
  writes: WriteCheck;
  connections: Connections;
  pgbouncer_stats: Record<string, string>;
  migration: { name: string; seconds: number; events: MigrationEvent[]; writes_in_window: Record<string, number> };
  server_errors: Record<string, number>;
}, verdicts: Array<[string, boolean, string]>): string {
  const o = r.options;
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "-");
  const statuses = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k}: ${v}`).join(", ");
  const built = r.migration.events.filter((e) => e.event === "index_created").length;
  const retries = r.migration.events.filter((e) => e.event === "index_lock_timeout").length;
  return [
    `# Soak, ${r.started_at.slice(0, 16).replace("T", " ")} UTC`,
    "",
    `${o.durationS} s; ${o.readClients} clients reading (bench:load's mix) + ${o.writeClients} writing, against our server per request ` +
      `behind ${r.pgbouncer.version} (transaction mode, ${o.pool} server connections) in front of a throwaway ` +
      `PostgreSQL ${r.postgres.version} with max_connections ${o.maxConnections}. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ` +
      `load average ${r.machine.load_average_end.map((l) => l.toFixed(1)).join(" ")} at the end; Node ${r.machine.node}.`,
    "",
    "| requests | count | req/s | statuses | p50 ms | p95 ms | p99 ms | max ms |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ...r.requests.map((q) => `| ${q.kind} | ${q.requests} | ${q.rps.toFixed(1)} | ${statuses(q.statuses)} | ${f(q.p50_ms)} | ${f(q.p95_ms)} | ${f(q.p99_ms)} | ${f(q.max_ms)} |`),
    "",
    `Acknowledged writes: ${statuses(r.writes.acknowledged)} (selects: rows whose last acknowledged choice was checked). ` +
      `Lost ${r.writes.lost}, phantoms ${r.writes.phantoms}, duplicates ${r.writes.duplicates}, inconsistent rows ${r.writes.inconsistentRows}; ` +
      `applied without an acknowledgement (the client gave up waiting): ${r.writes.unacknowledgedApplied}.`,
    "",
    `Connections: up to ${r.connections.client_peak} clients at PgBouncer (${r.connections.client_waiting_peak} waiting at most, longest wait ` +
      `${r.connections.max_wait_s.toFixed(2)} s), ${r.connections.server_active_peak} server connections active at most, ` +
      `${r.connections.postgres_backends_peak} Postgres backends on the database at most. PgBouncer's totals: ` +
      `${r.pgbouncer_stats.total_xact_count ?? "?"} transactions, ${r.pgbouncer_stats.total_query_count ?? "?"} queries.`,
    "",
    `Migration under traffic: ${r.migration.name}, ${built} index builds in ${r.migration.seconds.toFixed(1)} s, ${retries} lock-timeout retries; ` +
      `writes meanwhile: ${statuses(r.migration.writes_in_window) || "none"}.`,
    "",
    `Server error log lines: ${statuses(r.server_errors) || "none"}.`,
    "",
    "| check | result | measured |",
    "| --- | --- | --- |",
    ...verdicts.map(([name, pass, detail]) => `| ${name} | **${pass ? "PASS" : "FAIL"}** | ${detail} |`),
    "",
  ].join("\n");
}

// A failed check exits 1 after the report is out (CI's short soak fails on it).
await runBenchmark("bench:soak", USAGE, async () => {
  if (!(await main(process.argv.slice(2)))) throw new Error("a check failed: see the table above");
});
