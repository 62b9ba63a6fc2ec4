/**
 * `npm run job -- <name> [--batch-size N]`
 *
 * Runs one scheduled job now, through the same handler its cron Lambda runs,
 * and prints what it did. Uses DATABASE_URL (or the embedded database
 * `npm start` uses: stop the server first, PGlite is single-process). Log
 * lines go to stderr, the summary to stdout. Safe beside a scheduled run: the
 * two take disjoint rows.
 */
import { parseArgs } from "node:util";
import { Config } from "@shop/core/config";
import { Database } from "@shop/core/db";
import { setLogSink } from "@shop/core/log";
import * as Sweep from "@shop/core/sweep";
import { jobs } from "../routes.ts";

const USAGE = `usage: npm run job -- <${jobs.map((j) => j.name).join("|")}> [--batch-size N]`;

type Handler = (event: unknown) => Promise<Sweep.Result>;

function describeTarget(): string {
  const target = Config.database.target;
  if (target.kind === "pglite") return target.dataDir ? `embedded PGlite at ${target.dataDir}` : "in-memory PGlite";
  return `postgres host ${target.host}`;
}

function usage(problem?: string): number {
  process.stderr.write(`${problem ? `${problem}\n` : ""}${USAGE}\n`);
  return 2;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: { "batch-size": { type: "string" } }, allowPositionals: true, strict: true });
  } catch (err) {
    return usage((err as Error).message);
  }
  const [name, ...extra] = parsed.positionals;
  const job = jobs.find((j) => j.name === name);
  if (!job || extra.length) return usage(name && !job ? `unknown job: ${name}` : undefined);
  const given = parsed.values["batch-size"];
  const batchSize = given === undefined ? undefined : Sweep.BatchSize.safeParse(Number(given)).data;
  if (given !== undefined && batchSize === undefined) return usage("--batch-size must be a whole number from 1 to 10000");

  setLogSink((_level, line) => process.stderr.write(`${line}\n`));
  process.stderr.write(`running ${job.name} on ${describeTarget()}\n`);
  try {
    const { handler } = (await import(new URL(`../${job.file}.ts`, import.meta.url).href)) as { handler: Handler };
    const result = await handler(batchSize === undefined ? {} : { batch_size: batchSize });
    const batches = `${result.batches} batch${result.batches === 1 ? "" : "es"}`;
    process.stdout.write(
      `${job.name}: ${result.touched} rows touched in ${batches}, ${result.duration_ms} ms; ` +
        `${result.finished ? "finished" : "stopped at its time budget with rows left: run it again"}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`${job.name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await Database.close();
  }
}

process.exitCode = await main();
