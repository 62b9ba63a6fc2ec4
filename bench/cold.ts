/**
 * `npm run bench:cold [-- --runs 15 --warmup 1 --label before --no-chrt --no-write --keep]`
 *
 * Bundle size and cold start of every Lambda, as deployed:
 *
 * 1. Bundles every handler of the route table, the `$default` fallback and the
 *    migrator with SST's esbuild options and ours (infra/function.ts), for the
 *    deployed build (Neon driver) and a pg build, and breaks each bundle down by
 *    package (esbuild's metafile).
 * 2. Cold starts: per run a fresh Node process imports a bundle and serves its
 *    first request (GET /api/rows, and GET /health/live without the database),
 *    in per-request mode with NODE_ENV=production, against DATABASE_URL (a
 *    migrated Postgres database): the pg build over TCP, the Neon build through
 *    a local WebSocket-to-TCP bridge. Also Node's own startup, and zod against
 *    zod/mini (bench/cold/zod-*.ts) for the decision on converting.
 * 3. Prints the tables and the targets, and writes bench/results/cold-<date>.{json,md}
 *    and cold-latest.{json,md}.
 *
 * The session comes from `npm run session:create` (user cold-bench@example.com);
 * the user gets 20 rows through the POST /api/rows handler when it has fewer.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import pg from "pg";
import { fallback, routes } from "../packages/functions/src/routes.ts";
import { startNeonBridge, type NeonBridge } from "../tests/support/neon-bridge.ts";
import { bundle, deployedBuild, driverOf, withDriver, type BundleSize, type DeployedBuild } from "./cold/build.ts";
import {
  BUNDLE_TARGET_KB,
  bundleTable,
  coldTable,
  FIRST_REQUEST_TARGET_MS,
  handlerName,
  kb,
  KB,
  load,
  machine,
  modulesTable,
  summarise,
} from "./cold/report.ts";
import { createSession, event, realtimePrefix, Runner, type Config, type Sample } from "./cold/startup.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const RESULTS = join(ROOT, "bench/results");
const MIGRATOR = "packages/migrations/src/handler.ts";
const BENCH_EMAIL = "cold-bench@example.com";
const ROWS = 20;

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    warmup: { type: "string", default: "1" },
    label: { type: "string" },
    "no-chrt": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    /** Keep the bundles (and their metafiles' source maps) for a closer look. */
    keep: { type: "boolean", default: false },
  },
  strict: true,
});
const runs = Number(opts.runs);
const warmup = Number(opts.warmup);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error("--runs must be >= 1, --warmup >= 0");
const databaseUrl = process.env.DATABASE_URL?.startsWith("postgres") ? process.env.DATABASE_URL : null;

const log = (line: string) => process.stderr.write(`${line}\n`);
const entries = [...new Set(routes.map((r) => r.file)), fallback.file].map((f) => `packages/functions/src/${f}.ts`).concat(MIGRATOR);
const out = mkdtempSync(join(tmpdir(), "shop-cold-"));

async function bundleAll(build: DeployedBuild, variant: string): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const entry of entries) sizes.push(await bundle(build, entry, join(out, variant, handlerName(entry).replace(":", "-"), "bundle.mjs")));
  return sizes;
}

const before = load();
const deployed = await deployedBuild();
const pgBuild = withDriver(deployed, "pg");
log(`bundling ${entries.length} handlers twice (${driverOf(deployed)} build, pg build) into ${out}`);
const neonSizes = await bundleAll(deployed, "neon");
const pgSizes = await bundleAll(pgBuild, "pg");
const probes = {
  classic: await bundle(deployed, "bench/cold/zod-classic.ts", join(out, "probe", "zod-classic.mjs")),
  mini: await bundle(deployed, "bench/cold/zod-mini.ts", join(out, "probe", "zod-mini.mjs")),
};
const child = join(out, "child.mjs");
await esbuild.build({ entryPoints: [join(ROOT, "bench/cold/child.ts")], outfile: child, bundle: true, platform: "node", format: "esm", logLevel: "error" });

const find = (sizes: BundleSize[], file: string) => sizes.find((b) => b.entry === `packages/functions/src/${file}.ts`)!;

// ---- cold starts
const baseEnv = {
  PATH: process.env.PATH ?? "",
  // As deployed (infra/function.ts); AWS_LAMBDA_FUNCTION_NAME is what Lambda sets.
  NODE_ENV: "production",
  DB_USE_NULL_POOL: "true",
  DB_POOL_TIMEOUT: "10",
  AWS_LAMBDA_FUNCTION_NAME: "bench-cold",
};
const prefix = realtimePrefix(!opts["no-chrt"]);
const runner = new Runner(child, prefix);
let bridge: NeonBridge | null = null;
let postgres: string | null = null;
const configs: Config[] = [{ name: "node: empty script", bundle: null, events: [], env: baseEnv, expect: 200 }];
let samples: Sample[] = [];
try {
  if (databaseUrl) {
    const url = new URL(databaseUrl);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    postgres = ((await admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? "?").split(" ")[0]!;
    await admin.end();
    bridge = await startNeonBridge({ host: url.hostname, port: Number(url.port || 5432) });
    const token = await createSession(databaseUrl, BENCH_EMAIL);
    const pgEnv = { ...baseEnv, DATABASE_URL: databaseUrl, DB_DRIVER: "pg" };
    const neonEnv = { ...baseEnv, DATABASE_URL: databaseUrl, DB_DRIVER: "neon", NEON_WS_PROXY: bridge.proxy };
    const list = event("GET", "/api/rows", token);
    const live = event("GET", "/health/live", null);
    // The bench user's first page should be full.
    const listPath = find(pgSizes, "row/list").outfile;
    const seen = await runner.sample({ name: "seed", bundle: listPath, events: [list], env: pgEnv, expect: 200 }, 0);
    if ((seen.items ?? 0) < ROWS) {
      const creates = Array.from({ length: ROWS - (seen.items ?? 0) }, (_, i) =>
        event("POST", "/api/rows", token, { title: `cold start bench row ${i + 1}`, choice_factors: ["price", "delivery"] }),
      );
      await runner.sample({ name: "seed", bundle: find(pgSizes, "row/create").outfile, events: creates, env: pgEnv, expect: 201 }, 0);
    }
    configs.push(
      { name: "pg build: GET /health/live", bundle: find(pgSizes, "health/live").outfile, events: [live, live], env: pgEnv, expect: 200 },
      { name: "pg build: GET /api/rows", bundle: listPath, events: [list, list], env: pgEnv, expect: 200 },
      { name: "neon build: GET /health/live", bundle: find(neonSizes, "health/live").outfile, events: [live, live], env: neonEnv, expect: 200 },
      { name: "neon build: GET /api/rows", bundle: find(neonSizes, "row/list").outfile, events: [list, list], env: neonEnv, expect: 200 },
    );
  } else {
    log("DATABASE_URL is not a postgres:// URL: the database configurations are skipped (sizes, Node and the zod probes only)");
  }
  configs.push(
    { name: "zod probe: classic (import)", bundle: probes.classic.outfile, events: [], env: baseEnv, expect: 200 },
    { name: "zod probe: mini (import)", bundle: probes.mini.outfile, events: [], env: baseEnv, expect: 200 },
  );
  log(`cold starts: ${configs.length} configurations × ${runs} runs (+${warmup} warm-up), interleaved${prefix.length ? ", under chrt -f 5" : ""}`);
  samples = await runner.measure(configs, runs, warmup, (done, total) => {
    if (done % configs.length === 0) log(`  ${done}/${total}`);
  });
} finally {
  runner.close();
  await bridge?.close();
}
const after = load();
const summaries = summarise(samples, configs.map((c) => c.name));
const byName = (name: string) => summaries.find((s) => s.config === name);

// ---- targets
const apiSizes = neonSizes.filter((b) => b.entry !== MIGRATOR);
const migrator = neonSizes.find((b) => b.entry === MIGRATOR)!;
const largest = [...apiSizes].sort((a, b) => b.bytes - a.bytes)[0]!;
const rowList = find(neonSizes, "row/list");
const fixed = (rowList.groups["kysely"] ?? 0) + (rowList.groups["@neondatabase/serverless"] ?? 0);
const bundlePass = neonSizes.every((b) => b.bytes < BUNDLE_TARGET_KB * KB);
const firstRows = summaries.filter((s) => s.config.endsWith("GET /api/rows"));
const targets = {
  bundle: {
    target_kb: BUNDLE_TARGET_KB,
    pass: bundlePass,
    over: neonSizes.filter((b) => b.bytes >= BUNDLE_TARGET_KB * KB).map((b) => ({ handler: handlerName(b.entry), kb: Number(kb(b.bytes)) })),
    largest: { handler: handlerName(largest.entry), kb: Number(kb(largest.bytes)) },
    kysely_and_neon_kb: Number(kb(fixed)),
  },
  first_request: {
    target_ms: FIRST_REQUEST_TARGET_MS,
    configs: firstRows.map((s) => ({
      config: s.config,
      total_ms: s.total_ms,
      first_ms: s.first_ms,
      pass_from_process_start: (s.total_ms ?? Infinity) < FIRST_REQUEST_TARGET_MS,
      pass_after_import: (s.first_ms ?? Infinity) < FIRST_REQUEST_TARGET_MS,
    })),
  },
};
const zodSummary = {
  probe: "bench/cold/zod-classic.ts vs bench/cold/zod-mini.ts: the schemas the GET /api/rows bundle builds at import",
  classic: { bytes: probes.classic.bytes, zod_bytes: probes.classic.groups["zod"] ?? 0, import_ms: byName("zod probe: classic (import)")?.import_ms ?? null },
  mini: { bytes: probes.mini.bytes, zod_bytes: probes.mini.groups["zod"] ?? 0, import_ms: byName("zod probe: mini (import)")?.import_ms ?? null },
};
const zodSaved = {
  kb: Number(kb(zodSummary.classic.bytes - zodSummary.mini.bytes)),
  import_ms: zodSummary.classic.import_ms !== null && zodSummary.mini.import_ms !== null ? zodSummary.classic.import_ms - zodSummary.mini.import_ms : null,
};

// ---- output
const date = new Date().toISOString().slice(0, 10);
const node = process.version;
const esbuildVersion = esbuild.version;
const sstVersion = (JSON.parse(readFileSync(join(ROOT, "node_modules/sst/package.json"), "utf8")) as { version: string }).version;
const mach = machine(before, after);
const strip = (b: BundleSize) => {
  const { outfile: _outfile, ...rest } = b;
  return rest;
};
const result = {
  date: new Date().toISOString(),
  label: opts.label ?? null,
  machine: mach,
  node,
  postgres,
  sst: sstVersion,
  esbuild: esbuildVersion,
  build: { ...deployed, banner: undefined, driver: driverOf(deployed) },
  mode: { ...baseEnv, PATH: undefined, realtime: prefix.length > 0 },
  runs,
  warmup,
  targets,
  bundles: { deployed: neonSizes.map(strip), pg: pgSizes.map(strip) },
  zod: { ...zodSummary, saved: zodSaved },
  cold: summaries,
  samples,
};

function render(md: boolean): string {
  const h = (title: string) => (md ? `\n## ${title}\n` : `\n== ${title}`);
  const verdict = (pass: boolean) => (pass ? "PASS" : "MISS");
  // Markdown joins adjacent lines into one paragraph: the facts become a list there.
  const li = (line: string) => (md ? `- ${line}` : line);
  const lines = [
    md ? `# Cold start and bundle size, ${date}${opts.label ? ` (${opts.label})` : ""}\n` : "",
    li(`machine: ${mach.cpu}, ${mach.cores} cores, ${mach.memory_gb} GB; load ${mach.load_before} → ${mach.load_after}; CPU pressure (avg60) ${mach.cpu_pressure_before} → ${mach.cpu_pressure_after}`),
    li(`Node ${node}; PostgreSQL ${postgres ?? "(none)"}; sst ${sstVersion}; esbuild ${esbuildVersion}`),
    li(`build: ${deployed.runtime}, target ${deployed.target}, minify ${deployed.minify}, keepNames ${deployed.keepNames}, external [${deployed.external.join(", ")}], ` +
      `driver ${driverOf(deployed)} (${deployed.driverFromInfra ? "define from infra/function.ts" : "define added by the bench: infra/function.ts sets none"})`),
    li(`mode: NODE_ENV=production, per-request (DB_USE_NULL_POOL=true), DB_POOL_TIMEOUT=10; ${runs} runs per configuration (+${warmup} warm-up), medians${prefix.length ? ", chrt -f 5" : ""}`),
    li("paths: the pg build over TCP to Postgres on this machine; the Neon build through a local WebSocket-to-TCP bridge (tests/support/neon-bridge.ts); no TLS, trust auth"),
    h("Bundles (KB = 1024 bytes; the deployed build, the pg build's total beside it; KB per group)"),
    bundleTable(neonSizes, pgSizes, md),
    h(`Largest modules: ${handlerName(largest.entry)} (${kb(largest.bytes)} KB)`),
    modulesTable(largest, 12, md),
    ...(largest !== rowList ? [h(`Largest modules: row/list (${kb(rowList.bytes)} KB)`), modulesTable(rowList, 12, md)] : []),
    h("Cold start (ms since the process started; medians)"),
    coldTable(summaries, md),
    "",
    "node boot: Node's own startup until the first line of the child; import: `await import(bundle)`; 1st request: handler called → response ready;",
    "total: process start → first response ready; 2nd request: the same request again in the warm process; CPU: user+system ms of the process.",
    h("zod/mini (not adopted: what converting would save)"),
    `${zodSummary.probe}:${md ? "\n" : ""}`,
    li(`classic: bundle ${kb(zodSummary.classic.bytes)} KB (zod ${kb(zodSummary.classic.zod_bytes)} KB), import ${zodSummary.classic.import_ms?.toFixed(1)} ms`),
    li(`mini:    bundle ${kb(zodSummary.mini.bytes)} KB (zod ${kb(zodSummary.mini.zod_bytes)} KB), import ${zodSummary.mini.import_ms?.toFixed(1)} ms`),
    li(`saved per handler: ${zodSaved.kb} KB, ${zodSaved.import_ms?.toFixed(1)} ms of import`),
    h("Targets"),
    li(`every handler bundle < ${BUNDLE_TARGET_KB} KB: ${verdict(bundlePass)} (largest ${handlerName(largest.entry)} ${kb(largest.bytes)} KB; the migrator ${kb(migrator.bytes)} KB; ` +
      `kysely + the Neon driver alone: ${kb(fixed)} KB in row/list)`),
    ...targets.first_request.configs.map(
      (c) =>
        li(`${c.config}: first response < ${FIRST_REQUEST_TARGET_MS} ms from process start: ${verdict(c.pass_from_process_start)} (${c.total_ms?.toFixed(1)} ms); ` +
        `the request alone, after import: ${verdict(c.pass_after_import)} (${c.first_ms?.toFixed(1)} ms)`),
    ),
  ];
  return lines.join("\n") + "\n";
}

process.stdout.write(render(false));
if (!opts["no-write"]) {
  mkdirSync(RESULTS, { recursive: true });
  const stem = `cold-${date}${opts.label ? `-${opts.label}` : ""}`;
  for (const name of [stem, "cold-latest"]) {
    writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(RESULTS, `${name}.md`), render(true));
  }
  log(`wrote bench/results/${stem}.{json,md} and cold-latest.{json,md}`);
}
if (opts.keep) log(`bundles kept in ${out}`);
else rmSync(out, { recursive: true, force: true });

