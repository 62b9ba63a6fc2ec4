import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import type { DatabaseTarget } from "../config.ts";
import { DatabaseUnavailableError } from "../error.ts";

/**
 * Drivers: what one connection is, and how to open it. Every driver is reached
 * through node-postgres's `Client` interface, so one pool (pg-pool) serves all:
 *
 * - `neon`: @neondatabase/serverless `Client` over WebSocket (Neon hosts, or any
 *   host through a WebSocket-to-TCP proxy given by NEON_WS_PROXY).
 * - `pg`: node-postgres over TCP, for every other postgres:// URL.
 * - `pglite`: embedded PGlite (PostgreSQL in WASM), in memory or under a directory.
 *   It is a single session, so every client of one instance shares one pool of one.
 */

export type DriverName = "neon" | "pg" | "pglite";

/** One open connection, as every driver presents it. */
export type RawClient = pg.ClientBase;

export interface ConnectorOptions {
  target: DatabaseTarget;
  driver: "auto" | DriverName;
  /** host:port/path of a WebSocket-to-TCP proxy for the Neon driver (local testing). */
  neonWsProxy?: string | null;
  /** An already-open PGlite to use instead of opening `target.dataDir` (tests, templates). */
  pglite?: PGlite;
  applicationName?: string;
}

export interface Connector {
  readonly driver: DriverName;
  /** A pg-pool over this target, ended by `close()`. PGlite: the instance's one shared single-session pool. */
  pool(options: { max: number; timeoutMs: number; recycleMs: number }): Promise<pg.Pool>;
  /** One connection of a request's own (PGlite: a lease on its single session). */
  open(timeoutMs: number): Promise<RawClient>;
  /** Ends what `open` gave, awaited; `destroy`: without a goodbye (it is broken). */
  end(client: RawClient, destroy: boolean): Promise<void>;
  /** Asks the server to cancel the statement `client` runs (a protocol CancelRequest); null where nothing can (PGlite). */
  readonly cancel: ((client: RawClient) => void) | null;
  close(): Promise<void>;
}

/** pg-pool's words for "waited in the queue past connectionTimeoutMillis". */
export const QUEUE_TIMEOUT = "timeout exceeded when trying to connect";

/** How long a request waits for the server to see its connection close (then the socket is destroyed). */
const CLOSE_TIMEOUT_MS = 1000;

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
  const INT8_OID = 20;
  return {
    getTypeParser: (id: number, format?: "text" | "binary") =>
      id === INT8_OID && format !== "binary" ? parseInt8 : base.getTypeParser(id, format),
  };
}

/** Chooses the driver for a target: explicit DB_DRIVER wins, else Neon hosts use Neon. */
function resolveDriver(options: Pick<ConnectorOptions, "target" | "driver">): DriverName {
  if (options.target.kind === "pglite") return "pglite";
  if (options.driver === "neon" || options.driver === "pg") return options.driver;
  return options.target.neon ? "neon" : "pg";
}

export function createConnector(options: ConnectorOptions): Connector {
  const driver = resolveDriver(options);
  if (driver === "pglite") {
    // A deployed build carries no PGlite: with SHOP_DRIVER defined this folds away, and with it pg, which PGlite needs.
    if (!globalThis.SHOP_DRIVER) return pgliteConnector(options);
    throw new Error(`this build carries only the ${globalThis.SHOP_DRIVER} driver (DATABASE_URL asks for embedded PGlite)`);
  }
  if (options.target.kind !== "postgres") throw new Error(`the ${driver} driver needs a postgres:// URL`);
  return serverConnector(driver, options.target.url, options);
}

/**
 * Kills a connection without the goodbye `end()` waits for: a frozen or
 * half-open socket never answers it, and must not hold a slot or a socket.
 */
export function destroyClient(client: pg.ClientBase): void {
  (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
}

/** Ends a connection, waiting at most `timeoutMs` for the server to see it go (then destroys it). */
async function endClient(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = (client as pg.Client).end().catch(() => {});
  await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  destroyClient(client);
}

/** Runs `promise` with a timer: past `timeoutMs` it rejects with `onTimeout()` and hands a late result to `late`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
  late: (value: T) => void = () => {},
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(onTimeout());
        }, Math.max(0, timeoutMs));
      }),
    ]);
  } catch (err) {
    if (timedOut) promise.then(late, () => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

declare global {
  /** Set by the deployed build (esbuild `define`) to the one driver its bundle carries; unset elsewhere. */
  var SHOP_DRIVER: "neon" | "pg" | undefined;
}

/** The parts of a node-postgres Client (pg's or Neon's) a cancel request uses. */
interface CancelClient {
  host: string;
  port: number;
  connection: {
    on(event: string, listener: () => void): void;
    connect(port: number, host: string): void;
    cancel(processID: number, secretKey: number): void;
  };
}

interface DriverModule {
  Client: typeof pg.Client;
  Pool: typeof pg.Pool;
  types: TypeSource;
}

/**
 * A server driver's module, loaded on first use. With SHOP_DRIVER defined at
 * build time the other branch folds away, so a Lambda bundle carries one driver.
 */
async function loadDriver(driver: "neon" | "pg"): Promise<DriverModule> {
  if (driver === "neon" && globalThis.SHOP_DRIVER !== "pg") {
    const neon = await import("@neondatabase/serverless");
    return { Client: neon.Client, Pool: neon.Pool, types: neon.types } as unknown as DriverModule;
  }
  if (driver === "pg" && globalThis.SHOP_DRIVER !== "neon") return (await import("pg")).default;
  throw new Error(`this build carries only the ${globalThis.SHOP_DRIVER} driver (DB_DRIVER or DATABASE_URL asks for ${driver})`);
}

function serverConnector(driver: "neon" | "pg", url: string, options: ConnectorOptions): Connector {
  const proxy = options.neonWsProxy;
  const loaded = loadDriver(driver).then((mod) => {
    const config = {
      connectionString: url,
      application_name: options.applicationName ?? "shopping-agent",
      types: typesWithInt8(mod.types),
      ...(driver === "pg" ? { keepAlive: true } : {}),
    };
    const Client: typeof pg.Client = !proxy
      ? mod.Client
      : class extends mod.Client {
          constructor(config: pg.ClientConfig) {
            super(config);
            // A local WebSocket-to-TCP bridge speaks plain ws:// and plain Postgres.
            Object.assign((this as unknown as { neonConfig: object }).neonConfig, {
              wsProxy: (host: string, port: number | string) => `${proxy}?address=${host}:${port}`,
              useSecureWebSocket: false,
              pipelineConnect: false,
              pipelineTLS: false,
              forceDisablePgSSL: true,
            });
          }
        };
    return { ...mod, Client, config };
  });
  loaded.catch(() => {}); // surfaces on first use instead

  const pools: pg.Pool[] = [];
  return {
    driver,
    pool: async ({ max, timeoutMs, recycleMs }) => {
      const { Pool, Client, config } = await loaded;
      const pool = new Pool({ ...config, max, connectionTimeoutMillis: timeoutMs, idleTimeoutMillis: 0, maxLifetimeSeconds: recycleMs / 1000 });
      // After construction: Neon's Pool sets its own Client as a class field, over the option.
      (pool as unknown as { Client: typeof pg.Client }).Client = Client;
      pools.push(pool);
      return pool;
    },
    open: async (timeoutMs) => {
      const { Client, config } = await loaded;
      const client = new Client({ ...config, connectionTimeoutMillis: timeoutMs });
      // An error on an idle connection must never crash the process.
      client.on("error", () => {});
      const connectTimeout = () => new DatabaseUnavailableError("connect_timeout", `could not connect within ${timeoutMs / 1000}s`);
      try {
        await withTimeout(client.connect(), timeoutMs, connectTimeout);
      } catch (err) {
        destroyClient(client);
        throw err;
      }
      return client;
    },
    end: (client, destroy) => endClient(client, destroy ? 0 : CLOSE_TIMEOUT_MS),
    cancel: (client) => {
      // What pg's Client.cancel does, without its deprecated activeQuery check: a new connection
      // (a WebSocket for Neon) carries the target's backend key; PgBouncer passes it on.
      void loaded.then(({ Client, config }) => {
        const canceller = new Client(config) as unknown as CancelClient;
        const target = client as unknown as { processID: number; secretKey: number };
        canceller.connection.on("error", () => {});
        canceller.connection.on("connect", () => canceller.connection.cancel(target.processID, target.secretKey));
        canceller.connection.connect(canceller.port, canceller.host);
      });
    },
    close: async () => {
      await Promise.all(pools.splice(0).map((pool) => pool.end()));
    },
  };
}

const sessionPools = new WeakMap<PGlite, Promise<pg.Pool>>();

/** The one pool of one connection that every client of `pglite` shares: PGlite is a single session. */
function sessionPool(pglite: PGlite, timeoutMs: number): Promise<pg.Pool> {
  let pool = sessionPools.get(pglite);
  if (!pool) {
    pool = Promise.all([import("pg"), import("@electric-sql/pglite/node-postgres")]).then(([{ default: pg }, { createPgConfig }]) => {
      const session = new pg.Pool({
        max: 1,
        idleTimeoutMillis: 0,
        connectionTimeoutMillis: timeoutMs,
        types: typesWithInt8(pg.types),
        Client: class extends pg.Client {
          constructor(config?: pg.ClientConfig) {
            super({ ...config, ...createPgConfig(pglite) } as pg.ClientConfig);
          }
        },
      });
      session.on("error", () => {});
      // Every client of the instance listens to its one pool.
      session.setMaxListeners(0);
      return session;
    });
    sessionPools.set(pglite, pool);
  }
  return pool;
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

/** One process at a time may open a PGlite directory: two would corrupt it. */
class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

/** Takes `<dir>.lock` beside the directory (the owner's pid); a stale one (dead pid) is taken over. */
function lockDataDir(dataDir: string): () => void {
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

function pgliteConnector(options: ConnectorOptions): Connector {
  let db: Promise<{ pglite: PGlite; owned: boolean; unlock: () => void }> | null = null;
  const opened = () => {
    db ??= (async () => {
      if (options.pglite) return { pglite: options.pglite, owned: false, unlock: () => {} };
      const dataDir = options.target.kind === "pglite" ? options.target.dataDir : null;
      const unlock = dataDir ? lockDataDir(dataDir) : () => {};
      try {
        return { pglite: await openPGlite(dataDir), owned: true, unlock };
      } catch (err) {
        unlock();
        throw err;
      }
    })();
    // A failed open is not cached: the next request tries again (and close() has nothing to close).
    db.catch(() => (db = null));
    return db;
  };
  const pool = async (timeoutMs: number) => sessionPool((await opened()).pglite, timeoutMs);
  return {
    driver: "pglite",
    pool: ({ timeoutMs }) => pool(timeoutMs),
    open: async (timeoutMs) => {
      try {
        return await (await pool(timeoutMs)).connect();
      } catch (err) {
        if (!(err instanceof Error && err.message === QUEUE_TIMEOUT)) throw err;
        const waited = `${Number((timeoutMs / 1000).toFixed(2))}s`;
        throw new DatabaseUnavailableError("pool_exhausted", `embedded PGlite has a single session and it stayed busy for ${waited}`);
      }
    },
    end: async (client, destroy) => (client as pg.PoolClient).release(destroy),
    cancel: null,
    close: async () => {
      if (!db) return;
      const { pglite, owned, unlock } = await db;
      db = null;
      if (!owned) return;
      const pool = await sessionPools.get(pglite);
      sessionPools.delete(pglite);
      if (pool) {
        // pool.end() resolves before its client has said goodbye; closing PGlite under that goodbye crashes it.
        const removed = pool.totalCount > 0 ? new Promise((resolve) => pool.once("remove", resolve)) : null;
        await pool.end();
        await removed;
      }
      await pglite.close();
      unlock();
    },
  };
}
