import { AsyncLocalStorage } from "node:async_hooks";
import { CompiledQuery, Kysely, PostgresDialect, type Compilable, type PostgresPoolClient, type Transaction } from "kysely";
import { Config, type DatabaseConfig, type DatabaseTarget } from "../config.ts";
import { createConnector, destroyClient, type Connector, type ConnectorOptions, type DriverName, type RawClient } from "./driver.ts";
import { isConnectionLost, toCoreError } from "./errors.ts";
import { createQueryLogger, type QueryLogger } from "./log.ts";
import { NullPool, QueuePool, type Pool, type PoolCounters, type PoolStats } from "./pool.ts";
import type { DB } from "./types.ts";

export type { DB } from "./types.ts";
export type { PoolStats } from "./pool.ts";
export { openPGlite } from "./driver.ts";
export { formatQueryLine } from "./log.ts";

/**
 * The database module: one Kysely over one pool per process, and request
 * scopes. A scope (`use`) counts its round trips and, in per-request mode,
 * holds one connection, opened at its first query and closed (awaited) when
 * the scope ends, before the handler answers.
 */

/** What core's query functions run against: the request's database, or its open transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;

/** Counters for one request scope (the wrapper logs them once per request). */
export interface ScopeStats {
  queries: number;
  queryMs: number;
}

interface Scope {
  owner: DatabaseClient;
  db: Kysely<DB>;
  tx: Transaction<DB> | null;
  stats: ScopeStats;
  /** Connections returned by the scope; per-request mode waits for their close. */
  returned: Promise<void>[];
}

const scopes = new AsyncLocalStorage<Scope>();

/** What tests and the local server may set beyond the config. */
export interface ClientOverrides extends Partial<Pick<ConnectorOptions, "pglite" | "applicationName">> {
  target?: DatabaseTarget;
  /** Captures query log lines; stderr otherwise. */
  writeLog?: (line: string) => void;
  prePingBypassMs?: number;
  /** Sees every statement sent, with its parameters (the EXPLAIN suite and benchmarks replay them). */
  observe?: (sql: string, parameters: readonly unknown[]) => void;
}

/** One database: a driver, a pool policy, query logging. Owns every connection it opens. */
export class DatabaseClient {
  readonly driver: DriverName;
  readonly mode: "pooled" | "per-request";
  /** Most connections the pool opens (DB_POOL_SIZE + DB_MAX_OVERFLOW, PGlite's one session); null per request: no pool. */
  readonly capacity: number | null;
  readonly #connector: Connector;
  readonly #pool: Pool;
  readonly #log: QueryLogger | null;
  readonly #observe: ClientOverrides["observe"];
  readonly #named: boolean;
  readonly #statementTimeoutMs: number;
  readonly #kysely: Kysely<DB>;

  constructor(connector: Connector, settings: DatabaseConfig, overrides: ClientOverrides = {}) {
    this.#connector = connector;
    this.driver = connector.driver;
    this.mode = settings.useNullPool ? "per-request" : "pooled";
    this.capacity = settings.useNullPool ? null : connector.driver === "pglite" ? 1 : settings.poolSize + settings.maxOverflow;
    const timeoutMs = settings.poolTimeoutMs;
    this.#pool =
      this.mode === "per-request"
        ? new NullPool(connector, { timeoutMs })
        : new QueuePool(connector, {
            poolSize: settings.poolSize,
            maxOverflow: settings.maxOverflow,
            timeoutMs,
            recycleMs: settings.poolRecycleMs,
            prePing: settings.prePing,
            ...(overrides.prePingBypassMs !== undefined ? { prePingBypassMs: overrides.prePingBypassMs } : {}),
          });
    this.#log = createQueryLogger({ ...settings, ...(overrides.writeLog ? { write: overrides.writeLog } : {}) });
    this.#observe = overrides.observe;
    // PGlite is in-process: nothing to save, and its one session is shared by every client.
    this.#named = settings.preparedStatements && connector.driver !== "pglite";
    this.#statementTimeoutMs = connector.cancel ? settings.statementTimeoutMs : 0;
    this.#kysely = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: { options: {}, connect: async () => this.#lease(), end: async () => {} } }),
    });
  }

  /**
   * What Kysely gets for a connection: the pool's connection, checked out at
   * the first query (a scope that never queries opens nothing), with every
   * query counted, logged and its errors turned into core's.
   */
  #lease(): PostgresPoolClient {
    const scope = scopes.getStore();
    let client: RawClient | null = null;
    let broken = false;
    return {
      query: async (text: string, parameters: ReadonlyArray<unknown>) => {
        client ??= await this.#pool.acquire();
        this.#observe?.(text, parameters);
        const started = performance.now();
        let failed = false;
        const stop = this.#statementTimeoutMs > 0 ? this.#watch(client) : null;
        try {
          const name = this.#named ? statementNames.get(text) : undefined;
          if (!name) return await client.query(text, parameters as unknown[]);
          return await client.query({ name, text, values: parameters as unknown[] }).catch((err: { code?: string }) => {
            // A migration changed a table under a statement this connection prepared: run it unprepared.
            if (err.code === "0A000") return client!.query(text, parameters as unknown[]);
            throw err;
          });
        } catch (err) {
          failed = true;
          const mapped = toCoreError(err, "query");
          broken ||= isConnectionLost(mapped);
          throw mapped;
        } finally {
          stop?.();
          const ms = performance.now() - started;
          if (scope) {
            scope.stats.queries++;
            scope.stats.queryMs += ms;
          }
          this.#log?.(text, ms, failed);
        }
      },
      release: () => {
        if (client) scope?.returned.push(this.#pool.release(client, broken));
        client = null;
      },
    } as unknown as PostgresPoolClient;
  }

  /**
   * DB_STATEMENT_TIMEOUT, kept by us rather than by the server's setting (a
   * transaction-mode pooler drops session SETs and startup parameters): past
   * it the statement is cancelled (57014: a 503, the connection reusable), and
   * if the server does not even answer that within a second, the connection is
   * destroyed (a frozen database must not hold a request). Returns the stop.
   */
  #watch(client: RawClient): () => void {
    let destroy: NodeJS.Timeout | undefined;
    const cancel = setTimeout(() => {
      this.#connector.cancel!(client);
      destroy = setTimeout(() => destroyClient(client), 1000);
    }, this.#statementTimeoutMs);
    return () => {
      clearTimeout(cancel);
      clearTimeout(destroy);
    };
  }

  /**
   * Runs `fn` in a request scope. In per-request mode (or `pinned`, for
   * session state such as advisory locks) every query of the scope runs on one
   * connection; it is closed before `use` returns, even if `fn` throws. In
   * pooled mode each query borrows from the pool. Nested calls join the scope.
   */
  async use<T>(fn: (db: Executor) => Promise<T>, options: { pinned?: boolean } = {}): Promise<T> {
    const current = scopes.getStore();
    if (current?.owner === this) return fn(current.tx ?? current.db);
    const scope: Scope = { owner: this, db: this.#kysely, tx: null, stats: { queries: 0, queryMs: 0 }, returned: [] };
    const pinned = this.mode === "per-request" || Boolean(options.pinned);
    try {
      return await scopes.run(scope, () =>
        pinned ? this.#kysely.connection().execute((db) => fn((scope.db = db))) : fn(this.#kysely),
      );
    } finally {
      await Promise.all(scope.returned);
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

  /** The current scope's query counters, or null outside a scope. */
  scopeStats(): ScopeStats | null {
    const scope = scopes.getStore();
    return scope?.owner === this ? { ...scope.stats } : null;
  }

  /** Pool statistics in the reference `check_db_health()` shape. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  counters(): PoolCounters {
    return this.#pool.counters();
  }

  /** Closes the pool's connections and the driver. */
  async close(): Promise<void> {
    await this.#connector.close();
  }
}

/** Names of prepared queries' statements, so that a connection parses and plans each once (DB_PREPARED_STATEMENTS). */
const statementNames = new Map<string, string>();

/** Stands for a value of a prepared query while it is compiled. */
class Slot {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

/**
 * A query built and compiled once per shape, then run with each call's values:
 * otherwise Kysely builds and compiles the query tree on every call, which on
 * a hot read costs the server more CPU than the database spends. `build` gets
 * stand-ins for the values (absent ones stay undefined and pick the shape); it
 * may place them in the query but must compute nothing from them.
 */
export function prepare<V extends object, O>(build: (db: Executor, values: V) => Compilable<O>) {
  const shapes = new Map<string, { sql: string; parameters: unknown[] }>();
  return async (db: Executor, given: V): Promise<O[]> => {
    const values = given as Record<string, unknown>;
    const key = Object.keys(values).filter((k) => values[k] !== undefined).join(",");
    let shape = shapes.get(key);
    if (!shape) {
      const slots = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === undefined ? undefined : new Slot(k)]));
      const { sql, parameters } = build(db, slots as V).compile();
      shapes.set(key, (shape = { sql, parameters: [...parameters] }));
      if (!statementNames.has(sql)) statementNames.set(sql, `shop_${statementNames.size}`);
    }
    const parameters = shape.parameters.map((p) => (p instanceof Slot ? values[p.name] : p));
    return (await db.executeQuery<O>(CompiledQuery.raw(shape.sql, parameters))).rows;
  };
}

/** Builds a client from settings (the config's, or a test's overrides). */
export function createDatabase(settings: DatabaseConfig, overrides: ClientOverrides = {}): DatabaseClient {
  const connector = createConnector({
    target: overrides.target ?? settings.target,
    driver: settings.driver,
    neonWsProxy: settings.neonWsProxy,
    ...(overrides.pglite ? { pglite: overrides.pglite } : {}),
    ...(overrides.applicationName ? { applicationName: overrides.applicationName } : {}),
  });
  return new DatabaseClient(connector, settings, overrides);
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
  use: <T>(fn: (db: Executor) => Promise<T>): Promise<T> => client().use(fn),
  transaction: <T>(fn: (tx: Transaction<DB>) => Promise<T>): Promise<T> => client().transaction(fn),
  scopeStats: (): ScopeStats | null => client().scopeStats(),
  stats: (): PoolStats => client().stats(),
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
