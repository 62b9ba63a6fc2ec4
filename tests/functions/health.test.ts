import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, Database } from "@shop/core/db";
import { migrations } from "@shop/migrations/migrations/index";
import { call, useApiDatabase } from "../support/api.ts";
import { createTestDatabase, targets } from "../support/db.ts";
import { captureLogs } from "../support/logs.ts";
import { testSettings } from "../support/settings.ts";

// The outage cases log errors on purpose; keep them out of the test output.
const logs = captureLogs();

/** The reason the last request line gave for its status. */
function loggedReason(): unknown {
  const line = logs.filter((l) => l.entry.msg === "request").at(-1)!;
  expect(line.level).toBe("error");
  return line.entry.reason;
}

describe.each(targets())("health on %s", (target) => {
  useApiDatabase(target);

  it("GET /health/live answers ok without touching the database", async () => {
    const res = await call("GET", "/health/live");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /health/ready reports the database, the pool in the reference shape and migrations", async () => {
    const res = await call("GET", "/health/ready");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "ok",
      database: { reachable: true, latency_ms: expect.any(Number) },
      pool: { pool_size: 0, checked_in: 0, checked_out: expect.any(Number), overflow: 0, pool_class: "NullPool" },
      migrations: { applied: migrations.length, pending: 0 },
    });
  });
});

describe("GET /health/ready with pending migrations", () => {
  let restore: (() => Promise<void>) | null = null;
  beforeAll(async () => {
    const db = await createTestDatabase("pglite", { migrated: false });
    const previous = Database.setDefault(db.client);
    restore = async () => {
      Database.setDefault(previous);
      await db.drop();
    };
  });
  afterAll(() => restore?.());

  it("answers 503 unavailable: the deploy's migration step has not run", async () => {
    const res = await call("GET", "/health/ready");
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: "unavailable",
      database: { reachable: true },
      migrations: { applied: 0, pending: migrations.length },
    });
    expect(loggedReason()).toBe(`${migrations.length} migration(s) pending`);
  });
});

/** A TCP server that accepts connections and never answers: a database that hangs. */
async function blackhole(): Promise<{ port: number; open: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.resume(); // read (and drop) whatever arrives, so the peer's close is seen
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.each([
  ["refuses connections", async () => ({ port: 1, open: () => 0, close: async () => {} })],
  ["accepts but never answers", blackhole],
] as const)("when the database %s", (_what, start) => {
  let close: () => Promise<void> = async () => {};
  let open: () => number = () => 0;
  beforeAll(async () => {
    const hole = await start();
    close = hole.close;
    open = hole.open;
    const client = createDatabase(testSettings({ driver: "pg", useNullPool: true, poolTimeoutMs: 500 }), {
      target: { kind: "postgres", url: `postgres://app@127.0.0.1:${hole.port}/app`, host: "127.0.0.1", neon: false },
    });
    Database.setDefault(client);
  });
  afterAll(async () => {
    await Database.close();
    await close();
  });

  it("GET /health/ready answers 503 within DB_POOL_TIMEOUT, not a hang or a 500", async () => {
    const res = await call("GET", "/health/ready");
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.body).toMatchObject({ status: "unavailable", database: { reachable: false } });
    expect(res.body.database.latency_ms).toBeLessThan(5000);
    expect(loggedReason()).toMatch(/^database unreachable: could not connect to the database/);
  });

  it("API routes answer 503 database_unavailable with retry-after and no driver text", async () => {
    const res = await call("GET", "/api/rows", { token: `sa_${"a".repeat(43)}` });
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("2");
    expect(res.body).toEqual({ error: { code: "database_unavailable", message: "the database is unavailable; retry shortly" } });
  });

  it("leaves no socket behind for a connection attempt that timed out", async () => {
    await call("GET", "/health/ready");
    await expect.poll(open).toBe(0);
  });
});
