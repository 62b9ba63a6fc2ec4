import type pg from "pg";
import { DatabaseUnavailableError } from "../error.ts";
import { destroyClient, QUEUE_TIMEOUT, withTimeout, type Connector, type RawClient } from "./driver.ts";
import { toCoreError } from "./errors.ts";

/**
 * The reference system's pools (SQLAlchemy's QueuePool and NullPool) over any
 * driver. pg-pool already gives the limit, the wait queue with its timeout,
 * recycling by age and the counts; these classes add only what it cannot do.
 */

/** The shape of the reference system's `check_db_health()` pool section. */
export interface PoolStats {
  pool_size: number;
  checked_in: number;
  checked_out: number;
  overflow: number;
  pool_class: "QueuePool" | "NullPool";
}

/** Counters beyond the reference shape, for monitoring and tests. */
export interface PoolCounters {
  opened: number;
  closed: number;
  prePingFailures: number;
  timeouts: number;
  waiting: number;
}

export interface Pool {
  /** A connection within DB_POOL_TIMEOUT, or DatabaseUnavailableError. */
  acquire(): Promise<RawClient>;
  /** Gives a connection back (`destroy`: it is broken); resolves once it is back or closed. */
  release(client: RawClient, destroy: boolean): Promise<void>;
  stats(): PoolStats;
  counters(): PoolCounters;
}

export interface PoolOptions {
  poolSize: number;
  maxOverflow: number;
  timeoutMs: number;
  /** 0: never recycle. */
  recycleMs: number;
  prePing: boolean;
  /** Skip the pre-ping for a connection used this recently (HikariCP's aliveBypassWindow; default 1000 ms). */
  prePingBypassMs?: number;
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(2))}s`;


interface Usage {
  createdAt: number;
  lastUsedAt: number;
}

/**
 * QueuePool: keeps up to `poolSize` connections, opens up to `maxOverflow` more
 * under load and closes those on return, fails with the limit it hit after
 * `timeoutMs`, and (pre-ping) checks a connection idle for a while before
 * handing it out. A failed ping invalidates every connection opened before it,
 * as SQLAlchemy does: the server restarted, so their peers are dead too, and
 * no request spends its timeout pinging them one by one.
 */
export class QueuePool implements Pool {
  readonly #options: PoolOptions;
  readonly #ready: Promise<pg.Pool>;
  #pool: pg.Pool | null = null;
  readonly #usage = new WeakMap<RawClient, Usage>();
  #invalidatedAt = 0;
  readonly #counters = { opened: 0, closed: 0, prePingFailures: 0, timeouts: 0 };

  constructor(connector: Connector, options: PoolOptions) {
    this.#options = options;
    const max = options.poolSize + options.maxOverflow;
    this.#ready = connector.pool({ max, timeoutMs: options.timeoutMs, recycleMs: options.recycleMs }).then((pool) => {
      pool.on("connect", (client) => {
        this.#counters.opened++;
        // pg-pool listens for errors only while a connection is idle: one destroyed while checked out (a statement
        // given up on a frozen database) would otherwise crash the process. The query itself still fails.
        client.on("error", () => {});
      });
      pool.on("remove", () => this.#counters.closed++);
      // An idle connection died; pg-pool has already dropped it.
      pool.on("error", () => {});
      return (this.#pool = pool);
    });
    this.#ready.catch(() => {});
  }

  stats(): PoolStats {
    const total = this.#pool?.totalCount ?? 0;
    const idle = this.#pool?.idleCount ?? 0;
    const { poolSize } = this.#options;
    return { pool_size: poolSize, checked_in: idle, checked_out: total - idle, overflow: Math.max(0, total - poolSize), pool_class: "QueuePool" };
  }

  counters(): PoolCounters {
    return { ...this.#counters, waiting: this.#pool?.waitingCount ?? 0 };
  }

  async acquire(): Promise<RawClient> {
    const pool = await this.#ready;
    const deadline = performance.now() + this.#options.timeoutMs;
    for (;;) {
      const client = await this.#checkout(pool, deadline);
      let usage = this.#usage.get(client);
      if (!usage) this.#usage.set(client, (usage = { createdAt: performance.now(), lastUsedAt: performance.now() }));
      if (usage.createdAt < this.#invalidatedAt) {
        this.#discard(client);
        continue;
      }
      const recent = performance.now() - usage.lastUsedAt < (this.#options.prePingBypassMs ?? 1000);
      if (!this.#options.prePing || recent || (await this.#alive(client, deadline))) return client;
    }
  }

  async #checkout(pool: pg.Pool, deadline: number): Promise<pg.PoolClient> {
    const { poolSize, maxOverflow, timeoutMs } = this.#options;
    const timedOut = () => {
      this.#counters.timeouts++;
      // Waiting for a free connection, or for a new one the server does not accept.
      return pool.totalCount >= poolSize + maxOverflow
        ? new DatabaseUnavailableError(
            "pool_exhausted",
            `QueuePool limit of size ${poolSize} overflow ${maxOverflow} reached, connection timed out, timeout ${seconds(timeoutMs)}`,
          )
        : new DatabaseUnavailableError("connect_timeout", `could not connect within ${seconds(timeoutMs)}`);
    };
    // pg-pool's own timeout is the whole DB_POOL_TIMEOUT: the first attempt needs no timer of ours. After a
    // failed pre-ping only what is left of it remains.
    const first = deadline - performance.now() >= timeoutMs - 1;
    try {
      return first
        ? await pool.connect()
        : await withTimeout(pool.connect(), deadline - performance.now(), timedOut, (late) => late.release());
    } catch (err) {
      if (err instanceof Error && err.message === QUEUE_TIMEOUT) throw timedOut();
      throw toCoreError(err, "connect");
    }
  }

  /**
   * True if the connection answers within half the time left (a live server
   * answers `SELECT 1` in a round trip); a dead one is discarded and
   * invalidates its peers, and the other half opens a new connection.
   */
  async #alive(client: pg.PoolClient, deadline: number): Promise<boolean> {
    try {
      await withTimeout(client.query("SELECT 1"), (deadline - performance.now()) / 2, () => new Error("pre-ping timed out"));
      return true;
    } catch {
      this.#counters.prePingFailures++;
      this.#invalidatedAt = performance.now();
      this.#discard(client);
      return false;
    }
  }

  #discard(client: pg.PoolClient): void {
    destroyClient(client);
    client.release(true);
  }

  async release(client: RawClient, destroy: boolean): Promise<void> {
    const pool = this.#pool!;
    const usage = this.#usage.get(client);
    if (usage) usage.lastUsedAt = performance.now();
    // Overflow connections are closed on return, like SQLAlchemy's QueuePool.
    const surplus = pool.waitingCount === 0 && pool.idleCount >= this.#options.poolSize;
    if (destroy) destroyClient(client);
    (client as pg.PoolClient).release(destroy || surplus);
  }
}

/**
 * NullPool: every checkout opens a connection and every return closes it,
 * awaiting the close (bounded): a Lambda is frozen the moment it answers, and a
 * close still in flight would hold the server-side connection until a timeout.
 */
export class NullPool implements Pool {
  readonly #connector: Connector;
  readonly #timeoutMs: number;
  #checkedOut = 0;
  readonly #counters = { opened: 0, closed: 0, prePingFailures: 0, timeouts: 0 };

  constructor(connector: Connector, options: { timeoutMs: number }) {
    this.#connector = connector;
    this.#timeoutMs = options.timeoutMs;
  }

  stats(): PoolStats {
    return { pool_size: 0, checked_in: 0, checked_out: this.#checkedOut, overflow: 0, pool_class: "NullPool" };
  }

  counters(): PoolCounters {
    return { ...this.#counters, waiting: 0 };
  }

  async acquire(): Promise<RawClient> {
    try {
      const client = await this.#connector.open(this.#timeoutMs);
      this.#counters.opened++;
      this.#checkedOut++;
      return client;
    } catch (err) {
      const mapped = toCoreError(err, "connect");
      if (mapped instanceof DatabaseUnavailableError && mapped.reason !== "connect_failed") this.#counters.timeouts++;
      throw mapped;
    }
  }

  async release(client: RawClient, destroy: boolean): Promise<void> {
    this.#checkedOut--;
    this.#counters.closed++;
    await this.#connector.end(client, destroy);
  }
}
