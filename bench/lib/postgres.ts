import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { childrenMatching, freePort, onCleanup, parentPid, run } from "./procs.ts";

/**
 * The Postgres server the benchmark loads: by default a throwaway instance of
 * its own (initdb in a scratch directory), so its CPU is ours alone and its
 * connection slots are not shared with anyone's tests; or an existing local
 * server (`--postgres <url>`), where it creates and drops its own databases.
 */

export interface Postgres {
  host: string;
  port: number;
  /** A URL for database `db` on this server. */
  url(db: string): string;
  /** The postmaster's pid when the server runs on this machine (for CPU accounting), else null. */
  postmasterPid: number | null;
  kind: "private" | "existing";
  info: { version: string; max_connections: string; shared_buffers: string };
  createDatabase(name: string): Promise<void>;
  /** Live backends connected to `db` right now (null: not a local server). */
  backends(db: string): number | null;
}

const asRoot = process.getuid?.() === 0;

/** Postgres and PgBouncer refuse to run as root; as root, they run as the postgres user. */
export function asPostgres(command: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

let bindir: string | null = null;

/** A Postgres program (initdb, pg_ctl, pgbench) of the installed server version. */
export function pgBin(name: string): string {
  bindir ??= spawnSync("pg_config", ["--bindir"], { encoding: "utf8" }).stdout?.trim() || "/usr/lib/postgresql/15/bin";
  const path = join(bindir, name);
  return existsSync(path) ? path : name;
}

/** A scratch directory that the postgres user can use too; removed at cleanup. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) {
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout);
    chownSync(dir, id("-u"), id("-g"));
  }
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function describe(kind: Postgres["kind"], host: string, port: number, user: string): Promise<Postgres> {
  const url = (db: string) => `postgres://${user}@${host}:${port}/${db}`;
  const client = new pg.Client({ connectionString: url("postgres") });
  await client.connect();
  let row: { pid: number; version: string; max_connections: string; shared_buffers: string };
  let postmasterPid: number | null = null;
  try {
    [row] = (
      await client.query(
        "select pg_backend_pid() as pid, current_setting('server_version') as version, current_setting('max_connections') as max_connections, current_setting('shared_buffers') as shared_buffers",
      )
    ).rows;
    // Our backend's parent, read while the backend lives.
    if (host === "127.0.0.1" || host === "localhost") postmasterPid = parentPid(row!.pid);
  } finally {
    await client.end();
  }
  if (postmasterPid === null) process.stderr.write(`warning: Postgres at ${host}:${port} is not a process of this machine: no Postgres CPU or backend counts\n`);
  return {
    host,
    port,
    url,
    postmasterPid,
    kind,
    info: { version: row!.version, max_connections: row!.max_connections, shared_buffers: row!.shared_buffers },
    createDatabase: async (name) => {
      await query(url("postgres"), `create database "${name}"`);
      if (kind === "existing") onCleanup(() => query(url("postgres"), `drop database if exists "${name}" with (force)`).then(() => {}));
    },
    // A backend's title: "postgres: [cluster name: ]user database host(port) state".
    backends: (db) => (postmasterPid ? childrenMatching(postmasterPid, (cmd) => cmd.startsWith("postgres: ") && cmd.includes(` ${user} ${db} `)) : null),
  };
}

/** Starts a throwaway Postgres (stopped and deleted at cleanup). */
export async function startPrivatePostgres(maxConnections: number): Promise<Postgres> {
  const dir = scratchDir("bench-load-pg-");
  const data = join(dir, "data");
  await run(...asPostgres(pgBin("initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]));
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${maxConnections}`;
  const pgCtl = pgBin("pg_ctl");
  await run(...asPostgres(pgCtl, ["-D", data, "-l", join(dir, "postgres.log"), "-o", options, "-w", "start"]));
  // Already stopped (Ctrl-C reached it too) is fine.
  onCleanup(() => run(...asPostgres(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"])).then(
    () => {},
    () => {},
  ));
  return describe("private", "127.0.0.1", port, "postgres");
}

/** An existing server, given by a URL of any database on it. */
export async function existingPostgres(raw: string): Promise<Postgres> {
  const u = new URL(raw);
  return describe("existing", u.hostname, Number(u.port || 5432), decodeURIComponent(u.username || "postgres"));
}
