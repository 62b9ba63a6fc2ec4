import { spawnSync } from "node:child_process";
import { chownSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { asPostgres, scratchDir } from "./postgres.ts";
import { freePort, startChild, type Child } from "./procs.ts";

/**
 * PgBouncer in transaction mode in front of the benchmark's Postgres: what
 * the deployed per-request mode meets in Neon's pooler. Trust auth, its own
 * port and scratch directory; connection logging off (it would log every
 * per-request connection).
 */

interface PgBouncer {
  host: string;
  port: number;
  /** For CPU accounting: runuser (when root) and pgbouncer under it. */
  child: Child;
}

export function pgbouncerVersion(): string {
  return spawnSync("pgbouncer", ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0] ?? "pgbouncer";
}

export const PGBOUNCER_POOL_SIZE = 20;

/** Starts PgBouncer in front of `target`; `poolSize` server connections per database and user (default PGBOUNCER_POOL_SIZE). */
export async function startPgBouncer(target: { host: string; port: number; user: string }, poolSize = PGBOUNCER_POOL_SIZE): Promise<PgBouncer> {
  const dir = scratchDir("bench-load-pgbouncer-");
  const port = await freePort();
  const files = {
    ini: join(dir, "pgbouncer.ini"),
    users: join(dir, "userlist.txt"),
  };
  writeFileSync(files.users, `"${target.user}" ""\n`);
  writeFileSync(
    files.ini,
    [
      "[databases]",
      `* = host=${target.host} port=${target.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${files.users}`,
      "pool_mode = transaction",
      "max_client_conn = 2000",
      `default_pool_size = ${poolSize}`,
      // SHOW POOLS and SHOW STATS on its console (database "pgbouncer").
      `admin_users = ${target.user}`,
      "ignore_startup_parameters = extra_float_digits",
      "log_connections = 0",
      "log_disconnections = 0",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      "",
    ].join("\n"),
  );
  const owner = statSync(dir);
  for (const f of Object.values(files)) chownSync(f, owner.uid, owner.gid);

  const child = startChild(...asPostgres("pgbouncer", [files.ini]));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.proc.exitCode !== null || Date.now() > deadline) throw new Error(`pgbouncer did not start:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: "127.0.0.1", port, child };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
