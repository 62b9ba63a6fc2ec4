import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pgBin } from "./postgres.ts";
import { run } from "./procs.ts";

/**
 * The ceilings: `pgbench -S` (one indexed SELECT per transaction on a
 * connection held for the run) and `pgbench -S -C` (a new connection per
 * transaction). Latencies come from pgbench's per-transaction log, which
 * leaves out the connection time: with -C they are no request's latency, so
 * only the count is used (and pgbench's average connection time is kept).
 */

interface Target {
  host: string;
  port: number;
  user: string;
  db: string;
}

const conn = (t: Target) => ["-h", t.host, "-p", String(t.port), "-U", t.user];

/** Creates pgbench's tables (scale 1: 100,000 accounts). */
export async function initPgbench(target: Target): Promise<void> {
  await run(pgBin("pgbench"), ["-i", "-q", "-s", "1", ...conn(target), target.db]);
}

interface PgbenchResult {
  durationS: number;
  tps: number;
  /** Transactions in the log. */
  transactions: number;
  /** Milliseconds per transaction (without connecting); empty with -C. */
  latencies: number[];
  /** -C: pgbench's "average connection time". */
  connectMs: number | null;
  failed: number;
}

export async function runPgbench(target: Target, options: { clients: number; durationS: number; connect: boolean; logDir: string }): Promise<PgbenchResult> {
  const prefix = `pgbench-${process.hrtime.bigint()}`;
  const args = ["-n", "-S", "-c", String(options.clients), "-j", String(Math.min(2, options.clients)), "-T", String(options.durationS)];
  if (options.connect) args.push("-C");
  args.push("-l", `--log-prefix=${join(options.logDir, prefix)}`, ...conn(target), target.db);
  const out = await run(pgBin("pgbench"), args);
  let latencies: number[] = [];
  for (const file of readdirSync(options.logDir).filter((f) => f.startsWith(prefix))) {
    const path = join(options.logDir, file);
    // client_id transaction_no time_us script_no epoch epoch_us
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const us = Number(line.split(" ")[2]);
      if (line && Number.isFinite(us)) latencies.push(us / 1000);
    }
    rmSync(path);
  }
  const number = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const transactions = latencies.length;
  if (options.connect) latencies = [];
  return {
    durationS: options.durationS,
    tps: number(/tps = ([\d.]+)/),
    transactions,
    latencies,
    connectMs: options.connect ? number(/average connection time = ([\d.]+) ms/) : null,
    failed: number(/number of failed transactions: (\d+)/) || 0,
  };
}
