import { AsyncLocalStorage } from "node:async_hooks";
import { Kysely, PostgresDialect, sql, type LogEvent, type PostgresPool, type PostgresPoolClient, type Transaction } from "kysely";
import { Config, type DatabaseConfig, type DatabaseTarget } from "../config.ts";
import { DatabaseUnavailableError } from "../error.ts";
import { createConnector, type Connector, type ConnectorOptions, type DriverName } from "./driver.ts";
import { toDatabaseError } from "./errors.ts";
import { createQueryLogger } from "./log.ts";
import { NullPool, QueuePool, type Connection, type Pool, type PoolCounters, type PoolStats } from "./pool.ts";
import type { DB } from "./types.ts";

export type { DB } from "./types.ts";
export type { PoolStats, PoolCounters } from "./pool.ts";
export type { DriverName } from "./driver.ts";
export { openPGlite } from "./driver.ts";
export { formatQueryLine } from "./log.ts";

/** What core's query functions run against: the request's database, or its open transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;

/** Counters for one request scope (the wrapper logs them once per request). */
export interface ScopeStats {
  queries: number;
  queryMs: number;
}

interface Scope {
  owner: DatabaseClient;
  /** Every query of the scope runs on one connection (session state survives between them). */
  pinned: boolean;
  db: Kysely<DB>;
  tx: Transaction<DB> | null;
  stats: ScopeStats;
}

const scopes = new AsyncLocalStorage<Scope>();

export interface UseOptions {
  /**
   * Hold one connection for the whole scope, in pooled mode too: for session
   * state such as advisory locks or `SET` (always true in per-request mode).
   */
  pinned?: boolean;
}

export interface DatabaseClientOptions {
  connector: Connector;
  /** "per-request": NullPool, one connection per scope, closed when it ends. */
  mode: "pooled" | "per-request";
  poolSize: number;
  maxOverflow: number;
  poolTimeoutMs: number;
  poolRecycleMs: number;
  prePing: boolean;
  prePingBypassMs?: number;
  echo: boolean;
  slowQueryLogging: boolean;
  slowQueryThresholdMs: number;
  /** Captures log lines (tests); stderr otherwise. */
  writeLog?: (line: string) => void;
}

/**
 * Kysely's pool interface over one request scope. In per-request mode the
 * scope owns at most one connection, opened on first use and handed out
 * exclusively (so a transaction never shares it with a stray query); in pooled
 * mode every checkout goes to the process pool.
 */
class ScopePool implements PostgresPool {
  readonly options = {};
  readonly #pool: Pool;
  readonly #pinned: boolean;
  readonly #timeoutMs: number;
  #conn: Connection | null = null;
  #busy = false;
  readonly #queue: Array<() => void> = [];

  constructor(pool: Pool, pinned: boolean, timeoutMs: number) {
    this.#pool = pool;
    this.#pinned = pinned;
    this.#timeoutMs = timeoutMs;
  }

  async connect(): Promise<PostgresPoolClient> {
    if (!this.#pinned) {
      const conn = await this.#pool.acquire();
      return wrapClient(conn, (destroy) => this.#pool.release(conn, destroy));
    }
    if (this.#busy) await this.#wait();
    this.#busy = true;
    try {
      this.#conn ??= await this.#pool.acquire();
    } catch (err) {
      this.#next();
      throw err;
    }
    const conn = this.#conn;
    return wrapClient(conn, (destroy) => {
      if (destroy || conn.broken) {
        this.#pool.release(conn, true);
        this.#conn = null;
      }
      this.#next();
    });
  }

  #wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#queue.splice(this.#queue.indexOf(grant), 1);
        reject(
          new DatabaseUnavailableError(
            "pool_exhausted",
            `NullPool: the request's one connection stayed busy for ${this.#timeoutMs / 1000}s ` +
              `(a query outside a transaction waiting on that transaction's connection?)`,
          ),
        );
      }, this.#timeoutMs);
      this.#queue.push(grant);
    });
  }

  #next(): void {
    const grant = this.#queue.shift();
    if (grant) grant();
    else this.#busy = false;
  }

  async end(): Promise<void> {
    const conn = this.#conn;
    this.#conn = null;
    if (conn) this.#pool.release(conn);
  }
}

function wrapClient(conn: Connection, release: (destroy: boolean) => void): PostgresPoolClient {
  let released = false;
  const client = {
    async query(text: string, parameters: ReadonlyArray<unknown>) {
      try {
        return await conn.client.query(text, parameters);
      } catch (err) {
        const mapped = toDatabaseError(err, "query");
        if (mapped instanceof DatabaseUnavailableError && mapped.reason === "connection_lost") conn.broken = true;
        throw mapped;
      }
    },
    release(destroy?: boolean) {
      if (released) return;
      released = true;
      release(Boolean(destroy));
    },
  };
  return client as unknown as PostgresPoolClient;
}

/** One database: a driver, a pool policy, query logging. Owns every connection it opens. */
export class DatabaseClient {
  readonly driver: DriverName;
  readonly mode: "pooled" | "per-request";
  readonly #connector: Connector;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #logger: ((event: LogEvent) => void) | null;

  constructor(options: DatabaseClientOptions) {
    this.#connector = options.connector;
    this.driver = options.connector.driver;
    this.mode = options.mode;
    this.#timeoutMs = options.poolTimeoutMs;
    this.#pool =
      options.mode === "per-request"
        ? new NullPool(options.connector, { timeoutMs: options.poolTimeoutMs })
        : new QueuePool(options.connector, {
            poolSize: options.poolSize,
            maxOverflow: options.maxOverflow,
            timeoutMs: options.poolTimeoutMs,
            recycleMs: options.poolRecycleMs,
            prePing: options.prePing,
            ...(options.prePingBypassMs !== undefined ? { prePingBypassMs: options.prePingBypassMs } : {}),
          });
    this.#logger = createQueryLogger({
      echo: options.echo,
      slowQueryLogging: options.slowQueryLogging,
      slowQueryThresholdMs: options.slowQueryThresholdMs,
      ...(options.writeLog ? { write: options.writeLog } : {}),
    });
  }

  /**
   * Runs `fn` in a request scope. In per-request mode the scope's connection
   * is opened on first query and closed when `fn` settles, even if it throws;
   * in pooled mode each query borrows from the pool unless `pinned`.
   * Nested calls join the enclosing scope.
   */
  async use<T>(fn: (db: Executor) => Promise<T>, options: UseOptions = {}): Promise<T> {
    const current = scopes.getStore();
    if (current?.owner === this) {
      if (options.pinned && !current.pinned) throw new Error("a pinned scope cannot nest in an unpinned one");
      return fn(current.tx ?? current.db);
    }
    const pinned = this.mode === "per-request" || Boolean(options.pinned);
    const stats: ScopeStats = { queries: 0, queryMs: 0 };
    const logger = this.#logger;
    const scopePool = new ScopePool(this.#pool, pinned, this.#timeoutMs);
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: scopePool }),
      log: (event) => {
        stats.queries++;
        stats.queryMs += event.queryDurationMillis;
        logger?.(event);
      },
    });
    try {
      return await scopes.run({ owner: this, db, tx: null, stats, pinned }, () => fn(db));
    } finally {
      await db.destroy();
    }
  }

  /** Runs `fn` in one transaction on the scope's connection; joins an open one. */
  async transaction<T>(fn: (tx: Transaction<DB>) => Promise<T>): Promise<T> {
    return this.use(async () => {
      const scope = scopes.getStore()!;
      if (scope.tx) return fn(scope.tx);
      return scope.db.transaction().execute((tx) => scopes.run({ ...scope, tx }, () => fn(tx)));
    });
  }

  /** The executor of the current scope: its transaction if one is open. Throws outside `use`. */
  current(): Executor {
    const scope = scopes.getStore();
    if (!scope || scope.owner !== this) {
      throw new Error("no database scope: wrap the work in Database.use(...)");
    }
    return scope.tx ?? scope.db;
  }

  /** The current scope's query counters, or null outside a scope. */
  scopeStats(): ScopeStats | null {
    const scope = scopes.getStore();
    return scope && scope.owner === this ? { ...scope.stats } : null;
  }

  /** Pool statistics in the reference `check_db_health()` shape. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  counters(): PoolCounters {
    return this.#pool.counters();
  }

  /** Measures one round trip; never throws. */
  async ping(): Promise<{ reachable: boolean; latency_ms: number; error?: string }> {
    const started = performance.now();
    try {
      await this.use((db) => sql`select 1`.execute(db));
      return { reachable: true, latency_ms: round(performance.now() - started) };
    } catch (err) {
      const message = err instanceof DatabaseUnavailableError ? err.message : "query failed";
      return { reachable: false, latency_ms: round(performance.now() - started), error: message };
    }
  }

  /** Closes idle connections and the driver. */
  async close(): Promise<void> {
    await this.#pool.close();
    await this.#connector.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Builds a client from settings (the config's, or a test's overrides). */
export function createDatabase(
  settings: DatabaseConfig,
  overrides: Partial<Pick<ConnectorOptions, "pglite" | "applicationName">> & {
    target?: DatabaseTarget;
    writeLog?: (line: string) => void;
    prePingBypassMs?: number;
  } = {},
): DatabaseClient {
  const connector = createConnector({
    target: overrides.target ?? settings.target,
    driver: settings.driver,
    neonWsProxy: settings.neonWsProxy,
    ...(overrides.pglite ? { pglite: overrides.pglite } : {}),
    ...(overrides.applicationName ? { applicationName: overrides.applicationName } : {}),
  });
  return new DatabaseClient({
    connector,
    mode: settings.useNullPool ? "per-request" : "pooled",
    poolSize: settings.poolSize,
    maxOverflow: settings.maxOverflow,
    poolTimeoutMs: settings.poolTimeoutMs,
    poolRecycleMs: settings.poolRecycleMs,
    prePing: settings.prePing,
    echo: settings.echo,
    slowQueryLogging: settings.slowQueryLogging,
    slowQueryThresholdMs: settings.slowQueryThresholdMs,
    ...(overrides.writeLog ? { writeLog: overrides.writeLog } : {}),
    ...(overrides.prePingBypassMs !== undefined ? { prePingBypassMs: overrides.prePingBypassMs } : {}),
  });
}

let defaultClient: DatabaseClient | null = null;

function client(): DatabaseClient {
  defaultClient ??= createDatabase(Config.database);
  return defaultClient;
}

/**
 * The process's database, built from Config on first use. Handlers and core
 * modules go through this; nothing else opens connections.
 */
export const Database = {
  use: <T>(fn: (db: Executor) => Promise<T>, options?: UseOptions): Promise<T> => client().use(fn, options),
  transaction: <T>(fn: (tx: Transaction<DB>) => Promise<T>): Promise<T> => client().transaction(fn),
  current: (): Executor => client().current(),
  scopeStats: (): ScopeStats | null => client().scopeStats(),
  stats: (): PoolStats => client().stats(),
  ping: () => client().ping(),
  client,
  /** Replaces the process's database (the local server, tests). Returns the previous one. */
  setDefault(next: DatabaseClient | null): DatabaseClient | null {
    const previous = defaultClient;
    defaultClient = next;
    return previous;
  },
  /** Closes the process's database, if one was opened. */
  async close(): Promise<void> {
    const current = defaultClient;
    defaultClient = null;
    await current?.close();
  },
};
