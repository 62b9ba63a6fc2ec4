/**
 * npm run bench:load -- [--duration 6] [--rounds 3] [--connections 1,16,64]
 *                       [--only pooled,naive,...] [--delay 1] [--profile]
 *                       [--postgres private|<url>] [--quick]
 *
 * The reference load test (GET /api/rows weight 1, GET /api/rows/{id}/bids
 * weight 2, bearer tokens of many users) against our local server in each
 * driver and connection mode, a naive baseline server and pgbench's ceilings,
 * all in one run, repeated and interleaved; medians, ratios and targets.
 * docs/performance.md ("Load") explains every configuration.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { prepareDataset } from "./lib/dataset.ts";
import { runHttp, type User } from "./lib/http-load.ts";
import { initPgbench, runPgbench } from "./lib/pgbench.ts";
import { PGBOUNCER_POOL_SIZE, pgbouncerVersion, startPgBouncer } from "./lib/pgbouncer.ts";
import { existingPostgres, scratchDir, startPrivatePostgres, type Postgres } from "./lib/postgres.ts";
import { cpuByGroup, freePort, machineBusyMs, numberOption, ownCpuMs, runBenchmark, startChild, UsageError, waitForHttp, type Child } from "./lib/procs.ts";
import { summariseProfile, type ProfileSummary } from "./lib/profile.ts";
import { delayedTable, evaluateTargets, mainTable, markdown, profileText, summarise, targetLines, type Sample } from "./lib/report.ts";
import { startSidecar, type Sidecar } from "./lib/sidecar.ts";
import { latency } from "./lib/stats.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");

interface Spec {
  label: string;
  kind: "ours" | "naive" | "pgbench";
  driver?: "pg" | "neon";
  mode?: "pooled" | "per-request";
  via?: "direct" | "pgbouncer" | "neon";
  /** pgbench -C */
  connect?: boolean;
}

const CONFIGS = {
  pooled: { label: "our server, pooled (pg, 10 connections)", kind: "ours", driver: "pg", mode: "pooled", via: "direct" },
  "per-request": { label: "our server, per request (pg, straight to Postgres)", kind: "ours", driver: "pg", mode: "per-request", via: "direct" },
  pgbouncer: { label: "our server, per request (pg) behind PgBouncer (transaction mode)", kind: "ours", driver: "pg", mode: "per-request", via: "pgbouncer" },
  "neon-pooled": { label: "our server, pooled (Neon driver over the WebSocket bridge, 10 connections)", kind: "ours", driver: "neon", mode: "pooled", via: "neon" },
  "neon-per-request": { label: "our server, per request (Neon driver over the WebSocket bridge)", kind: "ours", driver: "neon", mode: "per-request", via: "neon" },
  naive: { label: "naive baseline: node:http + one pg.Pool({ max: 10 }), same SQL", kind: "naive", driver: "pg", mode: "pooled", via: "direct" },
  pgbench: { label: "pgbench -S (one indexed SELECT per transaction, connections held)", kind: "pgbench" },
  "pgbench-connect": { label: "pgbench -S -C (a new connection per transaction)", kind: "pgbench", connect: true },
} satisfies Record<string, Spec>;
type ConfigName = keyof typeof CONFIGS;
const ALL = Object.keys(CONFIGS) as ConfigName[];
const spec = (name: ConfigName): Spec => CONFIGS[name];

const USAGE = `usage: npm run bench:load -- [options]

  --duration S       seconds per measurement (default 6; --quick: 1)
  --rounds N         rounds, each running every configuration in a rotated order (default 3; --quick: 1)
  --connections L    concurrent connections, comma-separated (default 1,16,64; --quick: 16)
  --only L           configurations to run (default all): ${ALL.join(", ")}
  --delay MS         also run our servers and the naive one with MS added each way between
                     them and Postgres, counting round trips (default 1; --quick: 0, which skips it)
  --profile          also run the pooled server once under --cpu-prof (16 connections) and summarise
                     it, and the naive server likewise as a control
  --postgres WHERE   private (default: a throwaway instance of our own) or the URL of a local server
  --quick            a smoke run for CI (under a minute); writes no result files
`;

interface Options {
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number[];
  only: ConfigName[];
  delayMs: number;
  delayConnections: number;
  profile: boolean;
  postgres: string;
  quick: boolean;
  write: boolean;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      rounds: { type: "string" },
      connections: { type: "string" },
      only: { type: "string" },
      delay: { type: "string" },
      profile: { type: "boolean" },
      postgres: { type: "string" },
      quick: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const quick = values.quick ?? false;
  const num = numberOption;
  const connections = (values.connections ?? (quick ? "16" : "1,16,64")).split(",").map((c) => num("connections", c, 0, 1));
  const only = (values.only?.split(",") ?? ALL) as ConfigName[];
  for (const name of only) if (!ALL.includes(name)) throw new UsageError(`--only: unknown configuration "${name}" (known: ${ALL.join(", ")})`);
  const durationS = num("duration", values.duration, quick ? 1 : 6, 1);
  return {
    durationS,
    warmupS: Math.min(2, durationS / 2),
    rounds: Math.round(num("rounds", values.rounds, quick ? 1 : 3, 1)),
    connections,
    only: ALL.filter((n) => only.includes(n)),
    delayMs: num("delay", values.delay, quick ? 0 : 1, 0),
    delayConnections: connections.includes(16) ? 16 : Math.max(...connections),
    profile: values.profile ?? false,
    postgres: values.postgres ?? "private",
    quick,
    write: !quick,
  };
}

// ---------------------------------------------------------------------------
// The network between our servers and Postgres

/** How one configuration reaches Postgres: the endpoint its URL names, and what stands in between. */
interface Path {
  host: string;
  port: number;
  /** NEON_WS_PROXY for the Neon driver. */
  wsProxy?: string;
  /** Processes in the path (PgBouncer, the delaying proxy, the bridge): their CPU is "proxy". */
  proxyPids: number[];
  /** The delaying proxy, which counts the path's round trips. */
  counter?: Sidecar;
  close(): Promise<void>;
}

/**
 * Starts what stands between a configuration's server and Postgres, for that
 * configuration's run only (so PgBouncer's idle server connections, say, never
 * outlive it): server -> [delaying proxy] -> [PgBouncer] -> Postgres (the
 * pooler sits with the database, as Neon's does); for the Neon driver,
 * server -> bridge -> [delaying proxy] -> Postgres.
 */
async function openPath(ctx: Ctx, via: "direct" | "pgbouncer" | "neon", delayMs: number): Promise<Path> {
  const pieces: Child[] = [];
  let at = { host: ctx.pg.host, port: ctx.pg.port };
  let counter: Sidecar | undefined;
  let wsProxy: string | undefined;
  try {
    if (via === "pgbouncer") {
      const bouncer = await startPgBouncer({ ...at, user: "postgres" });
      pieces.push(bouncer.child);
      at = { host: bouncer.host, port: bouncer.port };
    }
    if (delayMs > 0) {
      counter = await startSidecar("delay", at, delayMs);
      pieces.push(counter.child);
      at = { host: "127.0.0.1", port: Number(counter.address) };
    }
    if (via === "neon") {
      const bridge = await startSidecar("bridge", at);
      pieces.push(bridge.child);
      wsProxy = bridge.address;
    }
  } catch (err) {
    for (const piece of pieces) await piece.stop();
    throw err;
  }
  return {
    ...at,
    ...(wsProxy ? { wsProxy } : {}),
    ...(counter ? { counter } : {}),
    proxyPids: pieces.map((p) => p.pid),
    close: async () => {
      for (const piece of pieces.reverse()) await piece.stop();
    },
  };
}

interface Ctx {
  opts: Options;
  pg: Postgres;
  appDb: string;
  pgbenchDb: string;
  users: User[];
  scratch: string;
  samples: Sample[];
  /** Round 1's answers of each server to the same requests, to compare with the naive server's. */
  bodies: Map<ConfigName, unknown[]>;
  /** The profiled measurement: its start and end (monotonic microseconds) and its answered requests. */
  profileWindow: { us: [number, number]; requests: number } | null;
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production" });

interface Server {
  url: string;
  child: Child;
}

async function startServer(ctx: Ctx, name: ConfigName, path: Path, nodeArgs: string[]): Promise<Server> {
  const s = spec(name);
  const port = await freePort();
  const databaseUrl = `postgres://postgres@${path.host}:${path.port}/${ctx.appDb}`;
  const child =
    s.kind === "naive"
      ? startChild(process.execPath, [...nodeArgs, join(ROOT, "bench/naive-server.ts"), "--port", String(port), "--database-url", databaseUrl], { env: baseEnv() })
      : startChild(process.execPath, [...nodeArgs, join(ROOT, "packages/functions/src/local/main.ts")], {
          env: {
            ...baseEnv(),
            PORT: String(port),
            DATABASE_URL: databaseUrl,
            DB_DRIVER: s.driver,
            DB_USE_NULL_POOL: String(s.mode === "per-request"),
            DB_POOL_SIZE: "10",
            DB_MAX_OVERFLOW: "0",
            ...(path.wsProxy ? { NEON_WS_PROXY: path.wsProxy } : {}),
          },
        });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`, child);
  return { url, child };
}

/** The same few requests, asked of every server once, to check they answer alike. */
async function answers(ctx: Ctx, url: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const user of [ctx.users[0]!, ctx.users.at(-1)!]) {
    const headers = { authorization: `Bearer ${user.token}` };
    for (const path of ["/api/rows", `/api/rows/${user.rowIds[0]}/bids`]) {
      const res = await fetch(`${url}${path}`, { headers });
      out.push({ status: res.status, body: await res.json() });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// One measurement

interface Load {
  durationS: number;
  /** Answered requests (or pgbench transactions). */
  requests: number;
  /** Milliseconds, one per answered request; empty when unknown (pgbench -C). */
  latencies: number[];
  statuses: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** pgbench's own tps; else responses / duration. */
  rps?: number;
  /**
   * Requests the server got but the client stopped waiting for at the end (autocannon
   * leaves one per connection): the server still serves them, so CPU and round trips
   * are counted once they are done, and divided by responses + these.
   */
  abandoned: number;
  /** pgbench -C: its average connection time. */
  connectMs?: number | null;
}

async function measure(
  ctx: Ctx,
  at: { phase: Sample["phase"]; round: number; config: ConfigName; connections: number },
  pids: { server: number[]; proxy: number[]; db: string; counter?: Sidecar },
  load: () => Promise<Load>,
): Promise<Sample> {
  await pids.counter?.reset();
  const postgres = ctx.pg.postmasterPid ? [ctx.pg.postmasterPid] : [];
  const groups = { server: pids.server, postgres, proxy: pids.proxy };
  const cpu0 = cpuByGroup(groups);
  const own0 = ownCpuMs();
  const busy0 = machineBusyMs();
  const wall0 = performance.now();
  const monoUs = () => Number(process.hrtime.bigint() / 1000n);
  const started = monoUs();
  let peak: number | null = null;
  const poll = setInterval(() => {
    const n = ctx.pg.backends(pids.db);
    if (n !== null) peak = Math.max(peak ?? 0, n);
  }, 250);
  let r: Load;
  try {
    r = await load();
  } finally {
    clearInterval(poll);
  }
  const requests = r.requests;
  if (at.phase === "profile") ctx.profileWindow = { us: [started, monoUs()], requests };
  const stats = latency(r.latencies);
  if (r.abandoned) await settle(stats.p99_ms);
  const cpu1 = cpuByGroup(groups);
  const own = ownCpuMs() - own0;
  const counts = await pids.counter?.counts();
  const served = requests + r.abandoned;
  const per = (ms: number) => (served ? ms / served : Number.NaN);
  const delta = (k: keyof typeof groups) => (groups[k].length ? cpu1[k] - cpu0[k] : null);
  const [server, pg, proxy] = [delta("server"), delta("postgres"), delta("proxy")];
  const ours = (server ?? 0) + (pg ?? 0) + (proxy ?? 0) + own;
  const sample: Sample = {
    ...at,
    requests,
    duration_s: r.durationS,
    rps: r.rps ?? requests / r.durationS,
    ...stats,
    statuses: r.statuses,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    server_cpu_ms: server === null ? null : per(server),
    postgres_cpu_ms: pg === null ? null : per(pg),
    proxy_cpu_ms: proxy === null ? null : per(proxy),
    client_cpu_ms: per(own),
    others_cpu_pct: (100 * Math.max(0, machineBusyMs() - busy0 - ours)) / ((performance.now() - wall0) * cpus().length),
    peak_backends: peak,
    connect_ms: r.connectMs ?? null,
    round_trips: counts ? per(counts.roundTrips) : null,
    new_connections: counts ? per(counts.connections) : null,
  };
  ctx.samples.push(sample);
  const rt = sample.round_trips === null ? "" : `  ${sample.round_trips.toFixed(2)} round trips/req`;
  const bad = sample.non2xx + sample.errors ? `  non2xx ${sample.non2xx} errors ${sample.errors}` : "";
  process.stderr.write(
    `  ${at.phase.padEnd(7)} r${at.round + 1} ${at.config.padEnd(16)} c=${String(at.connections).padEnd(3)} ${sample.rps.toFixed(0).padStart(6)} req/s` +
      (requests && r.latencies.length ? `  p50 ${sample.p50_ms.toFixed(1)}  p99 ${sample.p99_ms.toFixed(1)} ms` : "") +
      `${rt}${bad}\n`,
  );
  return sample;
}

/** Lets the requests abandoned at the end finish: about three of the run's p99, 0.3 to 3 s. */
const settle = (p99: number) => new Promise((resolve) => setTimeout(resolve, Math.min(3000, Math.max(300, 3 * p99))));

/** Starts a server (and its path), warms it up, measures it at each concurrency, stops it all. */
async function measureServer(
  ctx: Ctx,
  at: { phase: Sample["phase"]; round: number; config: ConfigName },
  connections: number[],
  options: { delayMs?: number; nodeArgs?: string[]; stopGraceMs?: number } = {},
): Promise<void> {
  const path = await openPath(ctx, spec(at.config).via!, options.delayMs ?? 0);
  try {
    const server = await startServer(ctx, at.config, path, options.nodeArgs ?? []);
    try {
      if (at.phase === "main" && at.round === 0) ctx.bodies.set(at.config, await answers(ctx, server.url));
      // Warm-up: JIT, handler imports, pool connections.
      const warm = await runHttp({ url: server.url, users: ctx.users, connections: Math.max(...connections), durationS: ctx.opts.warmupS, seed: 0 });
      await settle(latency(warm.latencies).p99_ms);
      for (const c of connections) {
        await measure(
          ctx,
          { ...at, connections: c },
          { server: [server.child.pid], proxy: path.proxyPids, db: ctx.appDb, ...(path.counter ? { counter: path.counter } : {}) },
          async () => {
            const r = await runHttp({ url: server.url, users: ctx.users, connections: c, durationS: ctx.opts.durationS, seed: at.round * 1000 + c });
            return { ...r, requests: r.latencies.length, abandoned: c };
          },
        );
      }
    } finally {
      await server.child.stop(options.stopGraceMs);
    }
  } finally {
    await path.close();
  }
}

async function measurePgbench(ctx: Ctx, round: number, name: ConfigName, connections: number[]): Promise<void> {
  const target = { host: ctx.pg.host, port: ctx.pg.port, user: "postgres", db: ctx.pgbenchDb };
  for (const c of connections) {
    await measure(ctx, { phase: "main", round, config: name, connections: c }, { server: [], proxy: [], db: ctx.pgbenchDb }, async () => {
      const r = await runPgbench(target, { clients: c, durationS: Math.max(1, Math.round(ctx.opts.durationS)), connect: spec(name).connect ?? false, logDir: ctx.scratch });
      return { ...r, requests: r.transactions, statuses: {}, non2xx: 0, errors: r.failed, timeouts: 0, rps: r.tps, abandoned: 0 };
    });
  }
}

/** Every configuration, `rounds` times, each round in a rotated order. */
async function rounds(ctx: Ctx, phase: "main" | "delayed", names: ConfigName[], connections: number[], delayMs = 0): Promise<void> {
  for (let round = 0; round < ctx.opts.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const config of order) {
      if (spec(config).kind === "pgbench") await measurePgbench(ctx, round, config, connections);
      else await measureServer(ctx, { phase, round, config }, connections, { delayMs });
    }
  }
}

/** One pooled run at 16 connections under --cpu-prof: where our server spends its CPU. */
async function profile(ctx: Ctx, config: ConfigName): Promise<{ summary: ProfileSummary; file: string }> {
  const dir = join(ctx.scratch, `cpu-prof-${config}`);
  // The profile is written at exit: a generous grace before SIGKILL.
  await measureServer(ctx, { phase: "profile", round: 0, config }, [16], { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`], stopGraceMs: 30_000 });
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const window = ctx.profileWindow!;
  return { summary: summariseProfile(join(dir, file), window.us, window.requests), file: join(dir, file) };
}

// ---------------------------------------------------------------------------
// Setup

function machine(ctx: Ctx, withPgBouncer: boolean, loadStart: number[]) {
  const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  return {
    cpu_model: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    load_average_start: loadStart,
    load_average_end: loadavg(),
    node: process.version,
    postgres: { version: ctx.pg.info.version, instance: ctx.pg.kind, max_connections: ctx.pg.info.max_connections, shared_buffers: ctx.pg.info.shared_buffers },
    pgbouncer: withPgBouncer ? { version: pgbouncerVersion(), pool_mode: "transaction", default_pool_size: PGBOUNCER_POOL_SIZE } : null,
    pgbench_scale: 1,
    drivers: { pg: version("pg"), neon: version("@neondatabase/serverless"), autocannon: version("autocannon") },
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
  const servers = opts.only.filter((n) => spec(n).kind !== "pgbench");
  const measurements = opts.rounds * (opts.only.length * opts.connections.length + (opts.delayMs > 0 ? servers.length : 0)) + (opts.profile ? 2 : 0);
  const estimateS = measurements * opts.durationS + opts.rounds * servers.length * (opts.delayMs > 0 ? 2 : 1) * (opts.warmupS + 2) + 30;
  process.stderr.write(
    `load test: ${opts.only.join(", ")} at ${opts.connections.join("/")} connections, ${opts.rounds} round(s) of ${opts.durationS} s; about ${Math.ceil(estimateS / 60)} min\n` +
      `machine: ${cpus()[0]?.model}, ${cpus().length} cores, load average ${loadStart.map((l) => l.toFixed(2)).join(" ")}\n`,
  );

  const pg = opts.postgres === "private" ? await startPrivatePostgres(300) : await existingPostgres(opts.postgres);
  const ctx: Ctx = { opts, pg, appDb: `bench_load_${process.pid}`, pgbenchDb: `bench_load_${process.pid}_pgbench`, users: [], scratch: scratchDir("bench-load-"), samples: [], bodies: new Map(), profileWindow: null };
  if (servers.length) ctx.users = await prepareDataset(pg, ctx.appDb, ctx.scratch, { rows: 1000, bidsPerRow: 50, tokens: 100 });
  if (opts.only.some((n) => spec(n).kind === "pgbench")) {
    await pg.createDatabase(ctx.pgbenchDb);
    await initPgbench({ host: pg.host, port: pg.port, user: "postgres", db: ctx.pgbenchDb });
  }
  process.stderr.write(`measuring (${ctx.users.length} users)...\n`);
  await rounds(ctx, "main", opts.only, opts.connections);
  const delayed = opts.delayMs > 0 && servers.length > 0;
  if (delayed) {
    process.stderr.write(`with ${opts.delayMs} ms each way between server and Postgres, ${opts.delayConnections} connections...\n`);
    await rounds(ctx, "delayed", servers, [opts.delayConnections], opts.delayMs);
  }
  const profiles = new Map<ConfigName, { summary: ProfileSummary; file: string }>();
  if (opts.profile) for (const config of (["pooled", "naive"] as const).filter((c) => servers.includes(c))) profiles.set(config, await profile(ctx, config));

  // ---- report
  const summaries = summarise(ctx.samples, ALL);
  const failed = ctx.samples.filter((s) => s.phase === "main").reduce((a, s) => a + s.errors + s.non2xx, 0);
  const targets = evaluateTargets(summaries, failed);
  const naiveBodies = ctx.bodies.get("naive");
  const sameJson = Object.fromEntries([...ctx.bodies].filter(([n]) => n !== "naive").map(([n, b]) => [n, naiveBodies ? isDeepStrictEqual(b, naiveBodies) : null]));
  const m = machine(ctx, servers.includes("pgbouncer"), loadStart);
  const machineLine =
    `${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB; load average ${m.load_average_start.map((l) => l.toFixed(2)).join(" ")} at start, ` +
    `${m.load_average_end.map((l) => l.toFixed(2)).join(" ")} at end; Postgres ${m.postgres.version} (${m.postgres.instance} instance, max_connections ${m.postgres.max_connections}); ` +
    `Node ${m.node}; pg ${m.drivers.pg}, @neondatabase/serverless ${m.drivers.neon}, autocannon ${m.drivers.autocannon}` +
    (m.pgbouncer ? `; ${m.pgbouncer.version} (transaction mode, pool ${m.pgbouncer.default_pool_size})` : "");
  const runLine = `${opts.rounds} round(s) × ${opts.durationS} s per configuration and concurrency, interleaved; medians over rounds (non2xx and errors: totals)`;

  const out: string[] = [
    "",
    `Load test, ${started.toISOString()}`,
    `machine: ${machineLine}`,
    runLine,
    "",
    mainTable(summaries),
    "",
    "cpu ms/req: CPU time of the server process, of all Postgres processes, and of PgBouncer or the Neon bridge, per request;",
    "others cpu %: the machine's CPU used by processes outside the test during the measurement (noise).",
    "",
    "Targets (16 connections, ratios within this run):",
    targetLines(targets),
  ];
  if (Object.keys(sameJson).length) {
    out.push("", `same JSON as the naive server for the same requests: ${Object.entries(sameJson).map(([n, ok]) => `${n} ${ok === null ? "n/a" : ok ? "yes" : "NO"}`).join(", ")}`);
  }
  if (delayed) out.push("", `Round trips per request, with ${opts.delayMs} ms added each way (counted at the delaying proxy; connection setup included):`, delayedTable(summaries));
  for (const [config, p] of profiles) out.push("", profileText(config, p.summary));
  process.stdout.write(`${out.join("\n")}\n`);

  if (!opts.write) {
    process.stderr.write("\n--quick: no result files written\n");
    return;
  }
  mkdirSync(RESULTS, { recursive: true });
  const stamp = started.toISOString().slice(0, 16).replace(/[:T]/g, (c) => (c === "T" ? "-" : "")); // 2026-11-28-1105 (UTC)
  const json = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    options: { ...opts, only: opts.only },
    machine: m,
    configurations: Object.fromEntries(opts.only.map((n) => [n, CONFIGS[n]])),
    same_json_as_naive: sameJson,
    targets,
    summaries,
    samples: ctx.samples,
    profiles: Object.fromEntries([...profiles].map(([config, p]) => [config, p.summary])),
  };
  const md = markdown({ started, machineLine, runLine, summaries, targets, delayMs: delayed ? opts.delayMs : 0, profiles: new Map([...profiles].map(([c, p]) => [c, p.summary])) });
  const base = join(RESULTS, `load-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  copyFileSync(`${base}.json`, join(RESULTS, "load-latest.json"));
  copyFileSync(`${base}.md`, join(RESULTS, "load-latest.md"));
  for (const [config, p] of profiles) copyFileSync(p.file, `${base}-${config}.cpuprofile.tmp`);
  process.stderr.write(`\nwrote ${base}.json, ${base}.md and load-latest.{json,md}${profiles.size ? `; raw profiles: ${base}-*.cpuprofile.tmp` : ""}\n`);
}

await runBenchmark("bench:load", USAGE, () => main(process.argv.slice(2)));
