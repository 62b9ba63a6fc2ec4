import { DatabaseUnavailableError } from "../error.ts";
import type { Connector, RawClient } from "./driver.ts";
import { toDatabaseError } from "./errors.ts";

/**
 * Connection pools with the reference system's semantics (SQLAlchemy's
 * QueuePool and NullPool), over any driver.
 *
 * QueuePool keeps up to `poolSize` idle connections, opens up to `maxOverflow`
 * more under load (closed again when returned), waits at most `timeoutMs` for a
 * free one and then fails with the limit it hit, recycles connections older
 * than `recycleMs`, and pings a reused connection before handing it out when
 * `prePing` is set. NullPool opens a connection per checkout and closes it on
 * return: what a Lambda invocation wants.
 */

/** The shape of the reference system's `check_db_health()` pool section. */
export interface PoolStats {
  pool_size: number;
  checked_in: number;
  checked_out: number;
  overflow: number;
  pool_class: "QueuePool" | "NullPool";
}

/** A connection as a pool hands it out. */
export interface Connection {
  readonly client: RawClient;
  readonly createdAt: number;
  lastUsedAt: number;
  broken: boolean;
}

export interface Pool {
  acquire(): Promise<Connection>;
  /** Returns a connection; `destroy` closes it instead of keeping it. */
  release(conn: Connection, destroy?: boolean): void;
  stats(): PoolStats;
  /** Extra counters for monitoring, beyond the reference shape. */
  counters(): PoolCounters;
  close(): Promise<void>;
}

export interface PoolCounters {
  /** Connections opened since start. */
  opened: number;
  /** Connections closed since start (recycled, broken, overflow returned, pool closed). */
  closed: number;
  /** Pre-ping failures that replaced a dead connection. */
  prePingFailures: number;
  /** Checkouts that gave up after the pool timeout. */
  timeouts: number;
  /** Callers waiting for a connection right now. */
  waiting: number;
}

export interface QueuePoolOptions {
  poolSize: number;
  maxOverflow: number;
  timeoutMs: number;
  /** 0: never recycle. */
  recycleMs: number;
  prePing: boolean;
  /** Skip the pre-ping for a connection returned less than this long ago (default 1000 ms). */
  prePingBypassMs?: number;
}

/**
 * A connection returned this recently is known good: skip its pre-ping (HikariCP's
 * aliveBypassWindow). Saves a round trip per checkout under steady load.
 */
const PRE_PING_BYPASS_MS = 1000;

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))}s`;
}

function open(connector: Connector, timeoutMs: number, onError: (conn: Connection) => void): Promise<Connection> {
  return connector.connect(timeoutMs).then((client) => {
    const now = Date.now();
    const conn: Connection = { client, createdAt: now, lastUsedAt: now, broken: false };
    client.on("error", () => {
      conn.broken = true;
      onError(conn);
    });
    return conn;
  });
}

function closeQuietly(conn: Connection): void {
  conn.client.end().catch(() => {});
}

interface Waiter {
  resolve(conn: Connection): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

export class QueuePool implements Pool {
  readonly #connector: Connector;
  readonly #options: QueuePoolOptions;
  readonly #max: number;
  /** Most recently returned last: reuse the warmest connection first. */
  readonly #idle: Connection[] = [];
  readonly #waiters: Waiter[] = [];
  #checkedOut = 0;
  #opening = 0;
  #closed = false;
  readonly #counters = { opened: 0, closed: 0, prePingFailures: 0, timeouts: 0 };

  constructor(connector: Connector, options: QueuePoolOptions) {
    this.#connector = connector;
    this.#options = options;
    this.#max = Math.min(options.poolSize + options.maxOverflow, connector.maxConnections);
  }

  get #total(): number {
    return this.#idle.length + this.#checkedOut + this.#opening;
  }

  stats(): PoolStats {
    return {
      pool_size: this.#options.poolSize,
      checked_in: this.#idle.length,
      checked_out: this.#checkedOut,
      overflow: Math.max(0, this.#total - this.#options.poolSize),
      pool_class: "QueuePool",
    };
  }

  counters(): PoolCounters {
    return { ...this.#counters, waiting: this.#waiters.length };
  }

  async acquire(): Promise<Connection> {
    if (this.#closed) throw new Error("the connection pool is closed");
    const idle = await this.#takeIdle();
    if (idle) return idle;
    if (this.#total < this.#max) return this.#openCheckedOut();
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          this.#counters.timeouts++;
          reject(
            new DatabaseUnavailableError(
              "pool_exhausted",
              `QueuePool limit of size ${this.#options.poolSize} overflow ${this.#options.maxOverflow} reached, ` +
                `connection timed out, timeout ${formatSeconds(this.#options.timeoutMs)}`,
            ),
          );
        }, this.#options.timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  release(conn: Connection, destroy = false): void {
    this.#checkedOut--;
    conn.lastUsedAt = Date.now();
    const surplus =
      !this.#connector.keepIdle || (this.#waiters.length === 0 && this.#idle.length >= this.#options.poolSize);
    if (destroy || conn.broken || this.#closed || this.#expired(conn) || surplus) {
      // Overflow connections are closed on return, like SQLAlchemy's QueuePool.
      this.#discard(conn);
    } else {
      this.#idle.push(conn);
    }
    this.#serveWaiters();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error("the connection pool is closed"));
    }
    const idle = this.#idle.splice(0);
    this.#counters.closed += idle.length;
    await Promise.all(idle.map((c) => c.client.end().catch(() => {})));
  }

  #expired(conn: Connection): boolean {
    return this.#options.recycleMs > 0 && Date.now() - conn.createdAt >= this.#options.recycleMs;
  }

  #discard(conn: Connection): void {
    this.#counters.closed++;
    closeQuietly(conn);
  }

  /** Pops a usable idle connection (checked out), discarding recycled or dead ones. */
  async #takeIdle(): Promise<Connection | null> {
    for (let conn = this.#idle.pop(); conn; conn = this.#idle.pop()) {
      if (conn.broken || this.#expired(conn)) {
        this.#discard(conn);
        continue;
      }
      this.#checkedOut++;
      const fresh = Date.now() - conn.lastUsedAt < (this.#options.prePingBypassMs ?? PRE_PING_BYPASS_MS);
      if (this.#options.prePing && !fresh && !(await this.#ping(conn))) {
        this.#checkedOut--;
        this.#counters.prePingFailures++;
        this.#discard(conn);
        continue;
      }
      return conn;
    }
    return null;
  }

  async #ping(conn: Connection): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        conn.client.query("SELECT 1"),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("pre-ping timed out")), this.#options.timeoutMs);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async #openCheckedOut(): Promise<Connection> {
    this.#opening++;
    try {
      const conn = await open(this.#connector, this.#options.timeoutMs, (c) => this.#onIdleError(c));
      this.#counters.opened++;
      this.#checkedOut++;
      return conn;
    } catch (err) {
      throw toDatabaseError(err, "connect");
    } finally {
      this.#opening--;
      // A failed open frees capacity a waiter may use.
      queueMicrotask(() => this.#serveWaiters());
    }
  }

  #onIdleError(conn: Connection): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) {
      this.#idle.splice(i, 1);
      this.#discard(conn);
      this.#serveWaiters();
    }
  }

  /** Hands idle connections, or new ones where capacity allows, to waiters in arrival order. */
  #serveWaiters(): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      if (this.#idle.length === 0 && this.#total >= this.#max) return;
      const waiter = this.#waiters.shift()!;
      clearTimeout(waiter.timer);
      // Both start synchronously (counts move before their first await), so the loop sees them.
      const attempt = this.#idle.length > 0 ? this.#takeIdle() : this.#openCheckedOut();
      attempt.then(
        // Every idle connection was dead: wait again like a new caller (rare).
        (conn) => (conn ? waiter.resolve(conn) : this.acquire().then(waiter.resolve, waiter.reject)),
        waiter.reject,
      );
    }
  }
}

/**
 * No pooling: every checkout opens a connection and every return closes it.
 * Counts what is open right now so health checks still show the load.
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

  async acquire(): Promise<Connection> {
    try {
      const conn = await open(this.#connector, this.#timeoutMs, () => {});
      this.#counters.opened++;
      this.#checkedOut++;
      return conn;
    } catch (err) {
      if (err instanceof DatabaseUnavailableError && err.reason === "connect_timeout") this.#counters.timeouts++;
      throw toDatabaseError(err, "connect");
    }
  }

  release(conn: Connection): void {
    this.#checkedOut--;
    this.#counters.closed++;
    closeQuietly(conn);
  }

  async close(): Promise<void> {}
}
