/**
 * npm run db:generate -- [--rows=1000] [--bids-per-row=50] [--scale small|medium|large]
 *                        [--seed=1] [--now=2026-01-01] [--reset] [--jobs=3]
 *                        [--tokens=100] [--tokens-out=.data/datagen-tokens.json]
 *
 * Fills the database DATABASE_URL names (a migrated postgres:// database) with
 * a generated dataset, then prints rows per second and peak memory.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { Config } from "@shop/core/config";
import { activeTokens, countsFor, generate, NotEmptyError, SCALES, TABLES, type PlanOptions, type Report, type Table } from "./index.ts";

const USAGE = `usage: npm run db:generate -- [options]

  --rows=N             rows (shopping requests); default 1000, or the scale's
  --bids-per-row=N     mean bids per row (a few rows get hundreds); default 50
  --scale=NAME         small (1k rows), medium (10k), large (100k rows, 5M bids, 1M clickouts, 200k sessions)
  --seed=S             same seed + options + --now: identical data (default 1)
  --now=DATE           the dataset's "now" (history is the year before it); default today 00:00 UTC
  --reset              TRUNCATE every app table first (deletes their data); without it, data is an error
  --jobs=N             parallel COPY streams (default 3)
  --tokens=N           sample bearer tokens of active users to write (default 100)
  --tokens-out=PATH    where to write them (default .data/datagen-tokens.json)

Writes into DATABASE_URL (postgres://...), which must be migrated (npm run migrate).`;

function wholeNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number (got "${raw}")`);
  return Number(raw);
}

class UsageError extends Error {}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function summary(report: Report): string {
  const lines = [
    `${"table".padEnd(16)}${"rows".padStart(12)}${"seconds".padStart(10)}${"rows/s".padStart(12)}`,
    ...report.tables.map(
      (t) => `${t.table.padEnd(16)}${fmt(t.rows).padStart(12)}${(t.ms / 1000).toFixed(1).padStart(10)}${fmt(t.rowsPerSecond).padStart(12)}`,
    ),
    `${"total".padEnd(16)}${fmt(report.totalRows).padStart(12)}${(report.wallMs / 1000).toFixed(1).padStart(10)}${fmt(report.rowsPerSecond).padStart(12)}`,
    "",
    `wall time ${(report.wallMs / 1000).toFixed(1)} s (COPY ${(report.loadMs / 1000).toFixed(1)} s, ANALYZE ${(report.analyzeMs / 1000).toFixed(1)} s)`,
    `rows/s ${fmt(report.rowsPerSecond)} (all rows / wall time); tables load in parallel, so per-table rates overlap`,
    `peak RSS ${(report.peakRssBytes / 1024 / 1024).toFixed(0)} MB`,
    `foreign keys: ${report.foreignKeys === "after" ? "checked once after the load (triggers off while loading)" : "checked row by row by Postgres's triggers"}`,
    `seed ${report.seed}, now ${report.now.toISOString()}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** A bar per table on a terminal; a line every few seconds (and per finished table) otherwise. */
function progress(totals: Record<Table, number>) {
  const done = Object.fromEntries(TABLES.map((t) => [t, 0])) as Record<Table, number>;
  if (process.stderr.isTTY) {
    const multi = new cliProgress.MultiBar(
      {
        stream: process.stderr,
        format: "{table} {bar} {percentage}% {value}/{total}",
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        formatValue: (v, _o, type) => (type === "value" || type === "total" ? fmt(v) : String(v)),
      },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map(
      TABLES.filter((t) => totals[t] > 0).map((t) => [t, multi.create(totals[t], 0, { table: t.padEnd(15) })]),
    );
    return {
      onProgress: (table: Table, rows: number) => bars.get(table)?.increment(rows),
      onStage: (stage: string) => {
        if (stage === "verify") multi.stop();
        if (stage !== "load") process.stderr.write(`${stage}...\n`);
      },
      stop: () => multi.stop(),
    };
  }
  let last = performance.now();
  return {
    onProgress: (table: Table, rows: number) => {
      done[table] += rows;
      const now = performance.now();
      if (done[table] === totals[table] || now - last > 5000) {
        last = now;
        process.stderr.write(`${table}: ${fmt(done[table])}/${fmt(totals[table])}\n`);
      }
    },
    onStage: (stage: string) => process.stderr.write(`${stage}...\n`),
    stop: () => {},
  };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: "string" },
      "bids-per-row": { type: "string" },
      scale: { type: "string" },
      seed: { type: "string" },
      now: { type: "string" },
      reset: { type: "boolean" },
      jobs: { type: "string" },
      tokens: { type: "string" },
      "tokens-out": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const scaleName = values.scale ?? "small";
  if (!Object.hasOwn(SCALES, scaleName)) throw new UsageError(`--scale must be one of ${Object.keys(SCALES).join(", ")}`);
  const scale = SCALES[scaleName as keyof typeof SCALES];
  let now: Date | undefined;
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be a date (got "${values.now}")`);
  }
  const plan: PlanOptions = {
    rows: wholeNumber("rows", values.rows, scale.rows),
    bidsPerRow: wholeNumber("bids-per-row", values["bids-per-row"], scale.bidsPerRow),
    seed: values.seed ?? "1",
    ...(now ? { now } : {}),
  };
  const target = Config.database.target;
  if (target.kind !== "postgres") {
    throw new UsageError("DATABASE_URL must be a postgres:// URL: the generator loads a Postgres server with COPY");
  }
  const tokensOut = values["tokens-out"] ?? ".data/datagen-tokens.json";
  const tokenCount = wholeNumber("tokens", values.tokens, 100);

  process.stderr.write(`generating into postgres host ${target.host} (rows ${fmt(plan.rows)}, bids/row ${plan.bidsPerRow}, seed ${plan.seed})\n`);
  const bar = progress(countsFor(plan));
  let report: Report;
  try {
    report = await generate({
      ...plan,
      url: target.url,
      reset: values.reset ?? false,
      jobs: wholeNumber("jobs", values.jobs, 3),
      onProgress: bar.onProgress,
      onStage: bar.onStage,
    });
  } finally {
    bar.stop();
  }
  process.stdout.write(summary(report));

  const tokens = activeTokens({ ...plan, now: report.now }, tokenCount);
  mkdirSync(dirname(tokensOut), { recursive: true });
  writeFileSync(
    tokensOut,
    `${JSON.stringify({ seed: report.seed, now: report.now.toISOString(), rows: plan.rows, bids_per_row: plan.bidsPerRow, tokens }, null, 2)}\n`,
  );
  process.stdout.write(`${tokens.length} bearer tokens of active users (heavy and light) in ${tokensOut}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof NotEmptyError || (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      process.stderr.write(`${(err as Error).message}\n${err instanceof NotEmptyError ? "" : `\n${USAGE}\n`}`);
      process.exit(2);
    }
    throw err;
  },
);
