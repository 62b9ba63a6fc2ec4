import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import pg from "pg";
import { Client as NeonClient, types as neonTypes } from "@neondatabase/serverless";
import type { PGlite } from "@electric-sql/pglite";
import type { DatabaseTarget } from "../config.ts";
import { DatabaseUnavailableError } from "../error.ts";
import { toDatabaseError } from "./errors.ts";

/**
 * Drivers: how to open one physical connection. Pools (pool.ts) decide when.
 *
 * - `neon`: @neondatabase/serverless `Client` over WebSocket (Neon hosts, or any
 *   host through a WebSocket-to-TCP proxy given by NEON_WS_PROXY).
 * - `pg`: node-postgres over TCP, for every other postgres:// URL.
 * - `pglite`: embedded PGlite (PostgreSQL in WASM), in memory or under a directory.
 *   It is a single session, so it hands out one lease at a time.
 */

export interface QueryResultLike {
  command: string;
  rowCount: number | null;
  rows: unknown[];
}

/** One open connection, as every driver presents it. */
export interface RawClient {
  query(text: string, values?: readonly unknown[]): Promise<QueryResultLike>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
  readonly processID?: number | null;
}

export type DriverName = "neon" | "pg" | "pglite";

export interface Connector {
  readonly driver: DriverName;
  /** The most sessions the target can hold for this process (PGlite: 1). */
  readonly maxConnections: number;
  /**
   * Whether an idle connection is worth keeping. PGlite's is not: opening one is
   * free, and an idle one would keep the single session from every other client.
   */
  readonly keepIdle: boolean;
  /** Opens a connection, failing with DatabaseUnavailableError after `timeoutMs`. */
  connect(timeoutMs: number): Promise<RawClient>;
  /** Releases driver-wide resources (PGlite: closes the embedded database). */
  close(): Promise<void>;
}

export interface ConnectorOptions {
  target: DatabaseTarget;
  driver: "auto" | DriverName;
  /** host:port/path of a WebSocket-to-TCP proxy for the Neon driver (local testing). */
  neonWsProxy?: string | null;
  /** An already-open PGlite to use instead of opening `target.dataDir` (tests, templates). */
  pglite?: PGlite;
  applicationName?: string;
}

const INT8_OID = 20;

/** int8 comes back as a JS number: ids are identity values and counts, all far below 2^53. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

interface TypeSource {
  getTypeParser(id: number, format?: "text" | "binary"): unknown;
}

function typesWithInt8(base: TypeSource) {
  return {
    getTypeParser: (id: number, format?: "text" | "binary") =>
      id === INT8_OID && format !== "binary" ? parseInt8 : base.getTypeParser(id, format),
  };
}

/** Chooses the driver for a target: explicit DB_DRIVER wins, else Neon hosts use Neon. */
export function resolveDriver(options: Pick<ConnectorOptions, "target" | "driver">): DriverName {
  if (options.target.kind === "pglite") return "pglite";
  if (options.driver === "neon" || options.driver === "pg") return options.driver;
  return options.target.neon ? "neon" : "pg";
}

export function createConnector(options: ConnectorOptions): Connector {
  const driver = resolveDriver(options);
  if (driver === "pglite") return new PGliteConnector(options);
  if (options.target.kind !== "postgres") throw new Error(`the ${driver} driver needs a postgres:// URL`);
  return new ServerConnector(driver, options.target.url, options);
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Drops a client whose connect failed or timed out. Our timer can fire before
 * the driver's own, and `end()` on a half-open handshake is a no-op, so the
 * socket is destroyed here: a hanging database must not hold one per request.
 */
function abandon(client: pg.Client | NeonClient): void {
  client.end().catch(() => {});
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  stream?.destroy?.();
}

class ServerConnector implements Connector {
  readonly maxConnections = Number.POSITIVE_INFINITY;
  readonly keepIdle = true;
  readonly driver: "neon" | "pg";
  readonly #url: string;
  readonly #options: ConnectorOptions;

  constructor(driver: "neon" | "pg", url: string, options: ConnectorOptions) {
    this.driver = driver;
    this.#url = url;
    this.#options = options;
  }

  #newClient(timeoutMs: number): pg.Client | NeonClient {
    const common = {
      connectionString: this.#url,
      connectionTimeoutMillis: timeoutMs,
      application_name: this.#options.applicationName ?? "shopping-agent",
    };
    if (this.driver === "pg") {
      return new pg.Client({ ...common, keepAlive: true, types: typesWithInt8(pg.types) });
    }
    const client = new NeonClient({ ...common, types: typesWithInt8(neonTypes) });
    const proxy = this.#options.neonWsProxy;
    if (proxy) {
      // A local WebSocket-to-TCP bridge speaks plain ws:// and plain Postgres.
      client.neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
      client.neonConfig.useSecureWebSocket = false;
      client.neonConfig.pipelineConnect = false;
      client.neonConfig.pipelineTLS = false;
      client.neonConfig.forceDisablePgSSL = true;
    }
    return client;
  }

  async connect(timeoutMs: number): Promise<RawClient> {
    const client = this.#newClient(timeoutMs);
    // An error on an idle connection must never crash the process; pools mark it broken.
    client.on("error", () => {});
    try {
      await withTimeout<unknown>(
        client.connect(),
        timeoutMs,
        () => new DatabaseUnavailableError("connect_timeout", `could not connect within ${timeoutMs / 1000}s`),
      );
    } catch (err) {
      abandon(client);
      throw toDatabaseError(err, "connect");
    }
    return client as unknown as RawClient;
  }

  async close(): Promise<void> {}
}

/**
 * PGlite is one Postgres session in this process. Every "connection" is a lease
 * on that session, handed out one at a time in arrival order; ending a lease
 * rolls back anything it left open so the next holder starts clean. Leases are
 * per PGlite instance, so any number of clients over one instance stay correct.
 */
class PGliteSession {
  readonly client: pg.Client;
  readonly #ready: Promise<unknown>;
  #held = false;
  readonly #waiters: Array<{ grant: () => void; timer: NodeJS.Timeout }> = [];

  constructor(client: pg.Client) {
    this.client = client;
    client.on("error", () => {});
    this.#ready = client.connect();
  }

  async lease(timeoutMs: number): Promise<RawClient> {
    await this.#ready;
    if (this.#held) {
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          grant: resolve,
          timer: setTimeout(() => {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            reject(
              new DatabaseUnavailableError(
                "pool_exhausted",
                `embedded PGlite has a single session and it stayed busy for ${timeoutMs / 1000}s`,
              ),
            );
          }, timeoutMs),
        };
        this.#waiters.push(waiter);
      });
    }
    this.#held = true;
    let ended = false;
    const client = this.client;
    return {
      processID: null,
      query: async (text, values) => {
        if (ended) throw new Error("PGlite lease already ended");
        return (await client.query(text, values as unknown[] | undefined)) as QueryResultLike;
      },
      // The embedded session has no socket to lose, so it never emits connection errors.
      on: () => undefined,
      end: async () => {
        if (ended) return;
        ended = true;
        await client.query("ROLLBACK").catch(() => {});
        this.#handOver();
      },
    };
  }

  #handOver() {
    const next = this.#waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.grant();
    } else {
      this.#held = false;
    }
  }
}

const sessions = new WeakMap<PGlite, PGliteSession>();

async function sessionFor(pglite: PGlite): Promise<PGliteSession> {
  let session = sessions.get(pglite);
  if (!session) {
    const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
    session = sessions.get(pglite);
    if (!session) {
      session = new PGliteSession(new pg.Client({ ...createPgConfig(pglite), types: typesWithInt8(pg.types) }));
      sessions.set(pglite, session);
    }
  }
  return session;
}

/**
 * Opens the embedded database at `dataDir` (null: in memory) with the
 * extensions we use, optionally starting from a `dumpDataDir()` tarball.
 */
export async function openPGlite(dataDir: string | null, options: { loadDataDir?: Blob } = {}): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { pg_stat_statements } = await import("@electric-sql/pglite/contrib/pg_stat_statements");
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  return PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    extensions: { pg_stat_statements },
  });
}

/**
 * One process at a time may open a PGlite directory: two would corrupt it.
 * A `<dir>.lock` file beside it holds the owner's pid; a stale one (dead pid)
 * is taken over.
 */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export function lockDataDir(dataDir: string): () => void {
  const lockPath = join(dirname(dataDir), `${basename(dataDir)}.lock`);
  mkdirSync(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      const release = () => {
        try {
          if (readFileSync(lockPath, "utf8") === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
      process.once("exit", release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(lockPath, "utf8"));
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new DataDirLockedError(
          `the embedded database at ${dataDir} is in use by process ${owner} (is \`npm start\` running?); ` +
            "stop it first, or point DATABASE_URL elsewhere",
        );
      }
      unlinkSync(lockPath); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock the embedded database at ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

class PGliteConnector implements Connector {
  readonly driver = "pglite";
  readonly maxConnections = 1;
  readonly keepIdle = false;
  readonly #options: ConnectorOptions;
  #db: Promise<{ pglite: PGlite; owned: boolean; unlock: () => void }> | null = null;

  constructor(options: ConnectorOptions) {
    this.#options = options;
  }

  #open() {
    this.#db ??= (async () => {
      if (this.#options.pglite) return { pglite: this.#options.pglite, owned: false, unlock: () => {} };
      const dataDir = this.#options.target.kind === "pglite" ? this.#options.target.dataDir : null;
      const unlock = dataDir ? lockDataDir(dataDir) : () => {};
      try {
        return { pglite: await openPGlite(dataDir), owned: true, unlock };
      } catch (err) {
        unlock();
        throw err;
      }
    })();
    // A failed open is not cached: the next request tries again (and close() has nothing to close).
    this.#db.catch(() => {
      this.#db = null;
    });
    return this.#db;
  }

  async connect(timeoutMs: number): Promise<RawClient> {
    const { pglite } = await this.#open();
    return (await sessionFor(pglite)).lease(timeoutMs);
  }

  async close(): Promise<void> {
    if (!this.#db) return;
    const { pglite, owned, unlock } = await this.#db;
    this.#db = null;
    if (owned) {
      await sessions.get(pglite)?.client.end().catch(() => {});
      sessions.delete(pglite);
      await pglite.close();
      unlock();
    }
  }
}
