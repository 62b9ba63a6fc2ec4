import type { ProfileSummary } from "./profile.ts";
import { median } from "./stats.ts";

/**
 * Medians over rounds, the targets, and the tables and pages (terminal and markdown).
 */

/** One measurement: one configuration at one concurrency in one round. */
export interface Sample {
  phase: "main" | "delayed" | "profile";
  round: number;
  config: string;
  connections: number;
  requests: number;
  duration_s: number;
  rps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  statuses: Record<string, number>;
  non2xx: number;
  /** No response at all: socket errors and timeouts (timeouts included), or pgbench's failed transactions. */
  errors: number;
  timeouts: number;
  /** CPU milliseconds per request; null where there is no such process. */
  server_cpu_ms: number | null;
  postgres_cpu_ms: number | null;
  /** PgBouncer, the Neon bridge and the delaying proxy, whichever stand in the path. */
  proxy_cpu_ms: number | null;
  /** The load generator (autocannon in the benchmark process, or pgbench). */
  client_cpu_ms: number;
  /** Share of the machine's CPU (all cores) used by processes outside the measurement: the noise. */
  others_cpu_pct: number;
  peak_backends: number | null;
  /** pgbench -C: pgbench's average connection time (its per-transaction latencies leave it out). */
  connect_ms: number | null;
  /** Delayed phase: database round trips and new connections per request, counted at the proxy. */
  round_trips: number | null;
  new_connections: number | null;
}

export interface Summary {
  phase: Sample["phase"];
  config: string;
  connections: number;
  rounds: number;
  rps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  server_cpu_ms: number | null;
  postgres_cpu_ms: number | null;
  proxy_cpu_ms: number | null;
  client_cpu_ms: number | null;
  others_cpu_pct: number | null;
  peak_backends: number | null;
  round_trips: number | null;
  new_connections: number | null;
  /** Totals over the rounds, not medians: one failure anywhere counts. */
  non2xx: number;
  errors: number;
  timeouts: number;
  vs_naive: number | null;
  vs_pgbench: number | null;
}

const MEDIAN_FIELDS = [
  "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "server_cpu_ms", "postgres_cpu_ms", "proxy_cpu_ms",
  "client_cpu_ms", "others_cpu_pct", "round_trips", "new_connections",
] as const;

export function summarise(samples: Sample[], configOrder: string[]): Summary[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const key = `${s.phase}|${s.config}|${s.connections}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out: Summary[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const m = Object.fromEntries(MEDIAN_FIELDS.map((f) => [f, median(group.map((s) => s[f]))])) as Record<(typeof MEDIAN_FIELDS)[number], number | null>;
    const peaks = group.map((s) => s.peak_backends).filter((p): p is number => p !== null);
    out.push({
      phase: first.phase,
      config: first.config,
      connections: first.connections,
      rounds: group.length,
      ...m,
      rps: m.rps ?? 0,
      p50_ms: m.p50_ms ?? Number.NaN,
      p95_ms: m.p95_ms ?? Number.NaN,
      p99_ms: m.p99_ms ?? Number.NaN,
      max_ms: m.max_ms ?? Number.NaN,
      peak_backends: peaks.length ? Math.max(...peaks) : null,
      non2xx: group.reduce((a, s) => a + s.non2xx, 0),
      errors: group.reduce((a, s) => a + s.errors, 0),
      timeouts: group.reduce((a, s) => a + s.timeouts, 0),
      vs_naive: null,
      vs_pgbench: null,
    });
  }
  const find = (phase: string, config: string, c: number) => out.find((s) => s.phase === phase && s.config === config && s.connections === c);
  for (const s of out) {
    const naive = find(s.phase, "naive", s.connections);
    const pgbench = find("main", "pgbench", s.connections);
    s.vs_naive = naive?.rps ? s.rps / naive.rps : null;
    s.vs_pgbench = pgbench?.rps && s.phase === "main" ? s.rps / pgbench.rps : null;
  }
  const phases = ["main", "delayed", "profile"];
  return out.sort(
    (a, b) =>
      phases.indexOf(a.phase) - phases.indexOf(b.phase) ||
      a.connections - b.connections ||
      configOrder.indexOf(a.config) - configOrder.indexOf(b.config),
  );
}

export interface Target {
  name: string;
  /** PASS, MISS, or n/a when a configuration it needs did not run. */
  result: "PASS" | "MISS" | "n/a";
  detail: string;
}

const TARGET_CONNECTIONS = 16;

/** The load targets, as ratios within this run (at 16 connections), and the guide's absolute floor. */
export function evaluateTargets(summaries: Summary[], errorsAnywhere: number): Target[] {
  const at = (config: string) => summaries.find((s) => s.phase === "main" && s.config === config && s.connections === TARGET_CONNECTIONS);
  const pooled = at("pooled");
  const naive = at("naive");
  const pgbench = at("pgbench");
  const bouncer = at("pgbouncer");
  const verdict = (ok: boolean | null): Target["result"] => (ok === null ? "n/a" : ok ? "PASS" : "MISS");
  const x = (v: number) => `${v.toFixed(2)}x`;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const targets: Target[] = [
    { name: "zero errors and non-2xx, every configuration and round", result: verdict(errorsAnywhere === 0), detail: `${errorsAnywhere} failed` },
    {
      name: "pooled req/s >= 1.0x naive (16 conns)",
      result: verdict(pooled && naive ? pooled.rps >= naive.rps : null),
      detail: pooled && naive ? `${x(pooled.rps / naive.rps)} (${pooled.rps.toFixed(0)} vs ${naive.rps.toFixed(0)} req/s)` : "",
    },
    {
      name: "pooled p99 <= naive p99 (16 conns)",
      result: verdict(pooled && naive ? pooled.p99_ms <= naive.p99_ms : null),
      detail: pooled && naive ? `${ms(pooled.p99_ms)} vs ${ms(naive.p99_ms)}` : "",
    },
    {
      name: "pooled req/s >= 10% of pgbench -S tps (16 conns)",
      result: verdict(pooled && pgbench ? pooled.rps >= 0.1 * pgbench.rps : null),
      detail: pooled && pgbench ? `${((100 * pooled.rps) / pgbench.rps).toFixed(1)}% (${pgbench.rps.toFixed(0)} tps)` : "",
    },
    {
      name: "per request via PgBouncer >= 60% of pooled req/s (16 conns)",
      result: verdict(pooled && bouncer ? bouncer.rps >= 0.6 * pooled.rps : null),
      detail: pooled && bouncer ? `${((100 * bouncer.rps) / pooled.rps).toFixed(1)}%` : "",
    },
  ];
  for (const [config, s] of [["pooled", pooled], ["pgbouncer", bouncer]] as const) {
    const ok = s ? s.p50_ms < 100 && s.p95_ms < 500 && s.p99_ms < 1000 && s.rps > 100 : null;
    targets.push({
      name: `guide floor, ${config} (16 conns): p50 < 100 ms, p95 < 500 ms, p99 < 1 s, > 100 req/s`,
      result: verdict(ok),
      detail: s ? `p50 ${ms(s.p50_ms)}, p95 ${ms(s.p95_ms)}, p99 ${ms(s.p99_ms)}, ${s.rps.toFixed(0)} req/s` : "",
    });
  }
  return targets;
}

// ---------------------------------------------------------------------------
// Tables

const f = (v: number | null, digits = 1) => (v === null || !Number.isFinite(v) ? "-" : v.toFixed(digits));
const ratio = (v: number | null) => (v === null ? "-" : `${v.toFixed(2)}x`);

type Column = [header: string, cell: (s: Summary) => string];

const MAIN_COLUMNS: Column[] = [
  ["conns", (s) => String(s.connections)],
  ["configuration", (s) => s.config],
  ["req/s", (s) => f(s.rps, 0)],
  ["p50 ms", (s) => f(s.p50_ms, 2)],
  ["p95 ms", (s) => f(s.p95_ms, 2)],
  ["p99 ms", (s) => f(s.p99_ms, 2)],
  ["non2xx", (s) => String(s.non2xx)],
  ["errors", (s) => String(s.errors)],
  ["server cpu ms/req", (s) => f(s.server_cpu_ms, 3)],
  ["pg cpu ms/req", (s) => f(s.postgres_cpu_ms, 3)],
  ["proxy cpu ms/req", (s) => f(s.proxy_cpu_ms, 3)],
  ["peak backends", (s) => (s.peak_backends === null ? "-" : String(s.peak_backends))],
  ["others cpu %", (s) => f(s.others_cpu_pct, 0)],
  ["x naive", (s) => ratio(s.vs_naive)],
  ["x pgbench -S", (s) => ratio(s.vs_pgbench)],
];

const DELAYED_COLUMNS: Column[] = [
  ["conns", (s) => String(s.connections)],
  ["configuration", (s) => s.config],
  ["req/s", (s) => f(s.rps, 0)],
  ["p50 ms", (s) => f(s.p50_ms, 2)],
  ["p99 ms", (s) => f(s.p99_ms, 2)],
  ["round trips/req", (s) => f(s.round_trips, 2)],
  ["new conns/req", (s) => f(s.new_connections, 2)],
  ["non2xx", (s) => String(s.non2xx)],
  ["errors", (s) => String(s.errors)],
  ["x naive", (s) => ratio(s.vs_naive)],
];

function render(columns: Column[], rows: Summary[], markdown: boolean): string {
  const cells = rows.map((r) => columns.map(([, cell]) => cell(r)));
  const headers = columns.map(([h]) => h);
  if (markdown) {
    const line = (c: string[]) => `| ${c.join(" | ")} |`;
    return [line(headers), line(headers.map((_, i) => (i < 2 ? "---" : "---:"))), ...cells.map(line)].join("\n");
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

export function mainTable(summaries: Summary[], markdown = false): string {
  return render(MAIN_COLUMNS, summaries.filter((s) => s.phase === "main"), markdown);
}

export function delayedTable(summaries: Summary[], markdown = false): string {
  return render(DELAYED_COLUMNS, summaries.filter((s) => s.phase === "delayed"), markdown);
}

export function targetLines(targets: Target[], markdown = false): string {
  if (markdown) return ["| target | result | measured |", "| --- | --- | --- |", ...targets.map((t) => `| ${t.name} | **${t.result}** | ${t.detail} |`)].join("\n");
  const width = Math.max(...targets.map((t) => t.name.length));
  return targets.map((t) => `${t.result.padEnd(4)}  ${t.name.padEnd(width)}  ${t.detail}`).join("\n");
}

/** A profile summary for the terminal. */
export function profileText(config: string, p: ProfileSummary): string {
  const lines = [
    `CPU profile, ${config} server at 16 connections, measured window only: ${p.total_ms.toFixed(0)} ms of busy samples (${p.idle_ms.toFixed(0)} ms idle) for ${p.requests} requests; self time`,
    "(samples are wall time on the main thread: a native call such as writev also holds the time spent descheduled in it)",
    "",
    "by package:",
  ];
  const row = (x: { self_pct: number; ms_per_req: number }, what: string) =>
    `  ${x.self_pct.toFixed(1).padStart(5)}%  ${x.ms_per_req.toFixed(3).padStart(6)} ms/req  ${what}`;
  for (const x of p.packages) lines.push(row(x, x.package));
  lines.push("", "by function:");
  for (const x of p.functions) lines.push(row(x, `${x.name}  ${x.where}`));
  return lines.join("\n");
}

/** The run as a short markdown page (bench/results/load-*.md). */
export function markdown(run: {
  started: Date;
  machineLine: string;
  runLine: string;
  summaries: Summary[];
  targets: Target[];
  delayMs: number;
  profiles: Map<string, ProfileSummary>;
}): string {
  const { started, machineLine, runLine, summaries, targets, delayMs, profiles } = run;
  const parts = [
    `# Load test, ${started.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `Machine: ${machineLine}.`,
    "",
    `${runLine[0]!.toUpperCase()}${runLine.slice(1)}. CPU columns are milliseconds per request; "others cpu %" is the machine's CPU used by processes outside the test (noise).`,
    "",
    mainTable(summaries, true),
    "",
    "## Targets (16 connections)",
    "",
    targetLines(targets, true),
  ];
  if (delayMs) parts.push("", `## Round trips per request, ${delayMs} ms each way`, "", delayedTable(summaries, true));
  if (profiles.size) {
    parts.push("", "Profiles below: self time in the measured window. A sample is wall time on the main thread, so a native call such as `writev` also holds the time the thread spent descheduled in it; the naive server's profile is the control.");
  }
  for (const [config, p] of profiles) {
    parts.push(
      "",
      `## CPU profile: ${config} server, 16 connections, self time (${p.total_ms.toFixed(0)} ms of busy samples, ${p.requests} requests)`,
      "",
      "| package | self % | ms/req |",
      "| --- | ---: | ---: |",
    );
    for (const x of p.packages) parts.push(`| ${x.package} | ${x.self_pct.toFixed(1)} | ${x.ms_per_req.toFixed(3)} |`);
    parts.push("", "| function | where | self % | ms/req |", "| --- | --- | ---: | ---: |");
    for (const x of p.functions) parts.push(`| \`${x.name}\` | ${x.where} | ${x.self_pct.toFixed(1)} | ${x.ms_per_req.toFixed(3)} |`);
  }
  return `${parts.join("\n")}\n`;
}
