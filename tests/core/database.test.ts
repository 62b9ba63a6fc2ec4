import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { sql } from "kysely";
import pg from "pg";
import { DatabaseUnavailableError } from "@shop/core/error";
import { createDatabase, type DatabaseClient, type Executor } from "@shop/core/db";
import { createTestDatabase, serverTargets, stopNeonBridge, targets, type TestDatabase } from "../support/db.ts";
import { testSettings } from "../support/settings.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";

afterAll(stopNeonBridge);

async function backendPid(db: Executor): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  return rows[0]!.pid;
}

async function withDb(
  target: Parameters<typeof createTestDatabase>[0],
  options: Parameters<typeof createTestDatabase>[1],
  fn: (db: TestDatabase) => Promise<void>,
) {
  const db = await createTestDatabase(target, options);
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** A promise plus its resolver: lets a test hold a connection open until it says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** Holds one connection (in a transaction) until `until` resolves; resolves `held` once it has it. */
function hold(client: DatabaseClient, until: Promise<void>) {
  const held = gate();
  const done = client.transaction(async (tx) => {
    await sql`select 1`.execute(tx);
    held.open();
    await until;
  });
  return { held: held.opened, done };
}

/** Connections to the test database other than the one asking. */
async function serverConnections(url: string): Promise<number> {
  const side = new pg.Client({ connectionString: url });
  await side.connect();
  try {
    const { rows } = await side.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    return Number(rows[0]!.n);
  } finally {
    await side.end();
  }
}

describe.each(targets())("per-request (NullPool) mode on %s", (target) => {
  const options = { settings: { useNullPool: true } };

  it("opens a connection on the first query and closes it when the scope ends", async () => {
    await withDb(target, options, async (db) => {
      expect(db.client.stats()).toEqual({ pool_size: 0, checked_in: 0, checked_out: 0, overflow: 0, pool_class: "NullPool" });
      await db.client.use(async (scope) => {
        expect(db.client.stats().checked_out).toBe(0); // nothing opened before a query
        await sql`select 1`.execute(scope);
        expect(db.client.stats().checked_out).toBe(1);
      });
      expect(db.client.stats().checked_out).toBe(0);
      expect(db.client.counters()).toMatchObject({ opened: 1, closed: 1 });
      // The close is awaited before `use` returns: the server has already let the connection go.
      if (db.url) expect(await serverConnections(db.url)).toBe(0);
    });
  });

  it("closes the connection even when the request throws", async () => {
    await withDb(target, options, async (db) => {
      await expect(
        db.client.use(async (scope) => {
          await sql`select 1`.execute(scope);
          throw new Error("handler bug");
        }),
      ).rejects.toThrow("handler bug");
      expect(db.client.stats().checked_out).toBe(0);
      expect(db.client.counters()).toMatchObject({ opened: 1, closed: 1 });
      if (db.url) expect(await serverConnections(db.url)).toBe(0);
    });
  });

  it("runs every query of a request on one connection, nested scopes included", async () => {
    await withDb(target, options, async (db) => {
      const pids = await db.client.use(async (scope) => {
        const first = await backendPid(scope);
        const nested = await db.client.use((inner) => backendPid(inner));
        const inTransaction = await db.client.transaction((tx) => backendPid(tx));
        return [first, nested, inTransaction];
      });
      expect(new Set(pids).size).toBe(1);
      expect(db.client.counters().opened).toBe(1);
    });
  });

  it("commits a transaction, and rolls it back when the work throws", async () => {
    await withDb(target, options, async (db) => {
      await db.client.transaction((tx) => tx.insertInto("seller").values({ name: "kept" }).execute());
      await expect(
        db.client.transaction(async (tx) => {
          await tx.insertInto("seller").values({ name: "rolled back" }).execute();
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      const names = await db.client.use((s) => s.selectFrom("seller").select("name").execute());
      expect(names).toEqual([{ name: "kept" }]);
    });
  });

  it("counts the queries of a scope", async () => {
    await withDb(target, options, async (db) => {
      const stats = await db.client.use(async (scope) => {
        await sql`select 1`.execute(scope);
        await db.client.transaction((tx) => sql`select 2`.execute(tx));
        return db.client.scopeStats();
      });
      // select 1, begin, select 2, commit
      expect(stats?.queries).toBe(4);
      expect(db.client.scopeStats()).toBeNull();
    });
  });
});

describe.each(serverTargets())("per-request mode isolation on %s", (target) => {
  it("gives concurrent requests their own connections", async () => {
    await withDb(target, { settings: { useNullPool: true } }, async (db) => {
      const release = gate();
      const a = hold(db.client, release.opened);
      const b = hold(db.client, release.opened);
      await Promise.all([a.held, b.held]);
      expect(db.client.stats().checked_out).toBe(2);
      release.open();
      await Promise.all([a.done, b.done]);
      expect(db.client.stats().checked_out).toBe(0);
    });
  });
});

describe.each(serverTargets())("pooled (QueuePool) mode on %s", (target) => {
  const pooled = (poolSize: number, maxOverflow: number, extra: Record<string, unknown> = {}) => ({
    settings: { useNullPool: false, poolSize, maxOverflow, ...extra },
  });

  it("reports pool statistics in the reference shape as connections come and go", async () => {
    await withDb(target, pooled(2, 1), async (db) => {
      expect(db.client.stats()).toEqual({ pool_size: 2, checked_in: 0, checked_out: 0, overflow: 0, pool_class: "QueuePool" });
      const release = gate();
      const holders = [0, 1, 2].map(() => hold(db.client, release.opened));
      await Promise.all(holders.map((h) => h.held));
      expect(db.client.stats()).toEqual({ pool_size: 2, checked_in: 0, checked_out: 3, overflow: 1, pool_class: "QueuePool" });
      release.open();
      await Promise.all(holders.map((h) => h.done));
      // The overflow connection is closed on return; pool_size connections stay.
      expect(db.client.stats()).toEqual({ pool_size: 2, checked_in: 2, checked_out: 0, overflow: 0, pool_class: "QueuePool" });
      await expect.poll(() => db.client.counters()).toMatchObject({ opened: 3, closed: 1 });
    });
  });

  it("reuses idle connections instead of opening new ones", async () => {
    await withDb(target, pooled(1, 0), async (db) => {
      const first = await db.client.use(backendPid);
      const second = await db.client.use(backendPid);
      expect(second).toBe(first);
      expect(db.client.counters().opened).toBe(1);
    });
  });

  it("fails with the QueuePool limit it hit once DB_POOL_TIMEOUT passes, instead of hanging", async () => {
    await withDb(target, pooled(1, 1, { poolTimeoutMs: 300 }), async (db) => {
      const release = gate();
      const holders = [hold(db.client, release.opened), hold(db.client, release.opened)];
      await Promise.all(holders.map((h) => h.held));
      const err = await db.client.use((s) => sql`select 1`.execute(s)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect(err).toMatchObject({
        reason: "pool_exhausted",
        code: "database_unavailable",
        message: "QueuePool limit of size 1 overflow 1 reached, connection timed out, timeout 0.3s",
      });
      expect(db.client.counters().timeouts).toBe(1);
      release.open();
      await Promise.all(holders.map((h) => h.done));
    });
  });

  it("hands a returned connection to the next waiter in line", async () => {
    await withDb(target, pooled(1, 0), async (db) => {
      const release = gate();
      const holder = hold(db.client, release.opened);
      await holder.held;
      const waiting = db.client.use(backendPid);
      await vi.waitFor(() => expect(db.client.counters().waiting).toBe(1));
      release.open();
      await holder.done;
      await expect(waiting).resolves.toBeTypeOf("number");
      expect(db.client.counters()).toMatchObject({ opened: 1, waiting: 0 });
    });
  });

  it("recycles connections older than DB_POOL_RECYCLE", async () => {
    await withDb(target, pooled(1, 0, { poolRecycleMs: 1 }), async (db) => {
      const first = await db.client.use(async (s) => {
        const pid = await backendPid(s);
        await new Promise((r) => setTimeout(r, 5)); // older than 1 ms when returned
        return pid;
      });
      const second = await db.client.use(backendPid);
      expect(second).not.toBe(first);
      expect(db.client.counters().opened).toBe(2);
    });
  });

  it("drops a connection that died while idle, so no request sees it", async () => {
    await withDb(target, pooled(1, 0, { prePing: false }), async (db) => {
      const first = await db.client.use(backendPid);
      await terminate(db.url!, first);
      await vi.waitFor(() => expect(db.client.stats().checked_in).toBe(0));
      const second = await db.client.use(backendPid);
      expect(second).not.toBe(first);
    });
  });
});

describe.runIf(serverTargets().includes("postgres"))("pre-ping against a silently dead connection", () => {
  it("replaces a connection whose network went quiet, within DB_POOL_TIMEOUT", async () => {
    await withDb("postgres", {}, async (db) => {
      const target = new URL(db.url!);
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const client = createDatabase(
        testSettings({ driver: "pg", useNullPool: false, poolSize: 1, maxOverflow: 0, prePing: true, poolTimeoutMs: 500 }),
        { target: { kind: "postgres", url: proxy.urlFor(db.url!), host: "127.0.0.1", neon: false }, prePingBypassMs: 0 },
      );
      try {
        const first = await client.use(backendPid);
        proxy.freeze();
        const second = await client.use(backendPid);
        expect(second).not.toBe(first);
        expect(client.counters()).toMatchObject({ prePingFailures: 1, opened: 2 });
      } finally {
        await client.close();
        await proxy.close();
      }
    });
  });
});

describe("pooled mode on pglite", () => {
  it("holds a single connection whatever DB_POOL_SIZE says (PGlite is one session)", async () => {
    await withDb("pglite", { settings: { useNullPool: false, poolSize: 5, maxOverflow: 5 } }, async (db) => {
      const release = gate();
      const holder = hold(db.client, release.opened);
      await holder.held;
      const second = db.client.use((s) => sql`select 1`.execute(s));
      await vi.waitFor(() => expect(db.client.counters().waiting).toBe(1));
      expect(db.client.stats()).toMatchObject({ checked_out: 1, checked_in: 0 });
      release.open();
      await holder.done;
      await second;
      expect(db.client.stats()).toMatchObject({ checked_out: 0, checked_in: 1, overflow: 0 });
    });
  });
});

async function terminate(url: string, pid: number): Promise<void> {
  const side = new pg.Client({ connectionString: url });
  await side.connect();
  try {
    await side.query("select pg_terminate_backend($1)", [pid]);
    // Wait until the backend is really gone, so the next checkout meets a dead socket.
    for (;;) {
      const { rows } = await side.query("select 1 from pg_stat_activity where pid = $1", [pid]);
      if (rows.length === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await side.end();
  }
}

describe("a build that carries one driver (SHOP_DRIVER, the deployed build's define)", () => {
  afterEach(() => {
    globalThis.SHOP_DRIVER = undefined;
  });

  it("refuses embedded PGlite, which such a build leaves out", () => {
    globalThis.SHOP_DRIVER = "neon";
    expect(() => createDatabase(testSettings(), { target: { kind: "pglite", dataDir: null } })).toThrow(
      "this build carries only the neon driver (DATABASE_URL asks for embedded PGlite)",
    );
  });
});

describe.each(serverTargets())("the statement timeout on %s", (target) => {
  it("cancels a statement past DB_STATEMENT_TIMEOUT with a 503 error, and the connection serves the next request", async () => {
    await withDb(target, { settings: { useNullPool: false, poolSize: 1, maxOverflow: 0, statementTimeoutMs: 300 } }, async (db) => {
      const first = await db.client.use(backendPid);
      const err = await db.client.use((s) => sql`select pg_sleep(5)`.execute(s)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "database_unavailable", reason: "statement_timeout" });
      // Cancelled, not killed: the one pooled connection is the same backend, and answers.
      expect(await db.client.use(backendPid)).toBe(first);
    });
  });
});

describe.runIf(serverTargets().includes("postgres"))("the statement timeout when the database goes silent", () => {
  it.each([
    ["per-request", true],
    ["pooled", false],
  ])("gives up on a statement whose connection froze mid-query, instead of hanging with it (%s)", async (_mode, useNullPool) => {
    await withDb("postgres", {}, async (db) => {
      const target = new URL(db.url!);
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      // The cancel request reaches the server directly (not through the frozen proxy), as it would
      // from another network path; the statement here waits on the proxy, so only destroying helps.
      const client = createDatabase(testSettings({ driver: "pg", useNullPool, statementTimeoutMs: 300 }), {
        target: { kind: "postgres", url: proxy.urlFor(db.url!), host: "127.0.0.1", neon: false },
      });
      try {
        const err = await client
          .use(async (s) => {
            await sql`select 1`.execute(s);
            proxy.freeze();
            return sql`select 2`.execute(s);
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DatabaseUnavailableError);
      } finally {
        await client.close();
        await proxy.close();
      }
    });
  });
});
