import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createDatabase, Database } from "@shop/core/db";
import { migrateToLatest } from "@shop/migrations/runner";
import { freePort, run, tree } from "../../bench/lib/procs.ts";
import * as fx from "./fixtures.ts";
import { runOptions } from "./migrate.ts";
import { startLocalServer, type RunningServer } from "./server.ts";
import { testSettings } from "./settings.ts";
import type { Actor } from "./traffic.ts";

/**
 * A throwaway PostgreSQL cluster of the machine's own server version
 * (`pg_createcluster`, trust auth, its own port), for faults no shared server
 * may suffer: stopped, started again, frozen with SIGSTOP. Needs root (the
 * cluster belongs to the postgres user), as CI runs.
 */
interface Cluster {
  name: string;
  port: number;
  url(db: string): string;
  /** `pg_ctlcluster stop -m fast`: backends are terminated, new connections refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open and go silent. */
  freeze(): void;
  thaw(): void;
  /** Stops and deletes the cluster, frozen or not. */
  drop(): Promise<void>;
}

/** Throwaway clusters need Debian's postgresql-common and root; elsewhere the faults suite is skipped. */
export const clustersAvailable = process.getuid?.() === 0 && existsSync("/etc/postgresql");
const VERSION = clustersAvailable ? (readdirSync("/etc/postgresql").sort().at(-1) ?? "15") : "";

async function createCluster(options: { maxConnections?: number } = {}): Promise<Cluster> {
  const name = `faults_${process.pid}_${Date.now() % 100_000}`;
  const port = await freePort();
  const ctl = (...args: string[]) => run("pg_ctlcluster", ["--skip-systemctl-redirect", VERSION, name, ...args]).then(() => {});
  await run("pg_createcluster", [
    VERSION, name, "-p", String(port), "--start-conf=manual",
    "-o", `max_connections=${options.maxConnections ?? 50}`, "-o", "fsync=off", "-o", "synchronous_commit=off",
    "--", "--auth=trust",
  ]);
  await ctl("start");
  const signalAll = (signal: NodeJS.Signals) => {
    const postmaster = Number(readFileSync(`/var/lib/postgresql/${VERSION}/${name}/postmaster.pid`, "utf8").split("\n")[0]);
    // The postmaster first, so it forks nothing new while its backends stop; reversed to wake.
    const pids = tree(postmaster);
    for (const pid of signal === "SIGSTOP" ? pids : pids.reverse()) {
      try {
        process.kill(pid, signal);
      } catch {
        // a backend that just exited
      }
    }
  };
  return {
    name,
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    stop: () => ctl("stop", "-m", "fast"),
    start: () => ctl("start"),
    freeze: () => signalAll("SIGSTOP"),
    thaw: () => signalAll("SIGCONT"),
    drop: async () => {
      try {
        signalAll("SIGCONT");
      } catch {
        // not running
      }
      await run("pg_dropcluster", [VERSION, name, "--stop"]);
    },
  };
}

/** What a faults test file works with: a cluster, its migrated app database, actors, and `npm start` in both modes. */
export interface FaultRig {
  cluster: Cluster;
  databaseUrl: string;
  actors: Actor[];
  servers: Record<"pooled" | "per-request", RunningServer>;
  close(): Promise<void>;
}

/**
 * Builds a FaultRig: a cluster, the app database migrated, `actors` users each
 * with a row of three bids (written through core), and the local server twice
 * against it, pooled and per request, with `env` (DB_POOL_TIMEOUT, …).
 */
export async function startFaultRig(options: { actors: number; env: Record<string, string>; maxConnections?: number }): Promise<FaultRig> {
  const cluster = await createCluster(options);
  try {
    await run("psql", [cluster.url("postgres"), "-qc", "create database app"]);
    const databaseUrl = cluster.url("app");
    const client = createDatabase(testSettings({ driver: "pg", useNullPool: true }), {
      target: { kind: "postgres", url: databaseUrl, host: "127.0.0.1", neon: false },
    });
    const previous = Database.setDefault(client);
    const actors: Actor[] = [];
    try {
      await migrateToLatest(client, runOptions);
      const seller = await fx.seller();
      for (let i = 0; i < options.actors; i++) {
        const user = await fx.user();
        const row = await fx.row(user.id);
        const bids = [await fx.bid(row.id, { sellerId: seller.id }), await fx.bid(row.id, { sellerId: seller.id }), await fx.bid(row.id)];
        actors.push({ userId: user.id, token: user.token, rowId: row.id, bidIds: bids.map((b) => b.id) });
      }
    } finally {
      Database.setDefault(previous);
      await client.close();
    }
    const env = { DATABASE_URL: databaseUrl, DB_DRIVER: "pg", ...options.env };
    const [pooled, perRequest] = await Promise.all([
      startLocalServer({ ...env, DB_USE_NULL_POOL: "false" }),
      startLocalServer({ ...env, DB_USE_NULL_POOL: "true" }),
    ]);
    return {
      cluster,
      databaseUrl,
      actors,
      servers: { pooled, "per-request": perRequest },
      close: async () => {
        await Promise.all([pooled.stop("SIGKILL"), perRequest.stop("SIGKILL")]);
        await cluster.drop();
      },
    };
  } catch (err) {
    await cluster.drop();
    throw err;
  }
}
