import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { createDatabase } from "@shop/core/db";
import { createTestDatabase, serverTargets } from "../support/db.ts";
import { startNeonBridge } from "../support/neon-bridge.ts";
import { testSettings } from "../support/settings.ts";

/**
 * The production driver, @neondatabase/serverless over WebSocket, against the
 * local server through a WebSocket-to-TCP bridge (Neon's wsproxy protocol).
 */
describe.runIf(serverTargets().length > 0)("the Neon serverless driver through a WebSocket bridge", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  async function neonClient() {
    const db = await createTestDatabase("postgres");
    cleanup.push(db.drop);
    const url = new URL(db.url!);
    const bridge = await startNeonBridge({ host: url.hostname, port: Number(url.port || 5432) });
    cleanup.push(bridge.close);
    const client = createDatabase(testSettings({ driver: "neon", neonWsProxy: bridge.proxy, useNullPool: true }), {
      target: { kind: "postgres", url: db.url!, host: url.hostname, neon: false },
    });
    cleanup.push(() => client.close());
    return { client, bridge };
  }

  it("runs real queries over the bridge and closes its socket after each request", async () => {
    const { client, bridge } = await neonClient();
    expect(client.driver).toBe("neon");
    const seen = await client.use(async (db) => {
      const { rows } = await sql<{ version: string; n: number }>`select version() as version, ${41}::int + 1 as n`.execute(db);
      return { ...rows[0]!, bridged: bridge.open() };
    });
    expect(seen.version).toMatch(/^PostgreSQL/);
    expect(seen.n).toBe(42);
    expect(seen.bridged).toBe(1);
    await expect.poll(() => bridge.open()).toBe(0);
  });

  it("runs a transaction: commits together, rolls back together", async () => {
    const { client } = await neonClient();
    await client.transaction(async (tx) => {
      const [user] = await tx.insertInto("user").values({ email: "neon@example.com" }).returning("id").execute();
      await tx.insertInto("row").values({ user_id: user!.id, title: "via websocket" }).execute();
    });
    await expect(
      client.transaction(async (tx) => {
        await tx.insertInto("user").values({ email: "gone@example.com" }).execute();
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const rows = await client.use((db) =>
      db.selectFrom("row").innerJoin("user", "user.id", "row.user_id").select(["email", "title"]).execute(),
    );
    expect(rows).toEqual([{ email: "neon@example.com", title: "via websocket" }]);
    const emails = await client.use((db) => db.selectFrom("user").select("email").execute());
    expect(emails).toEqual([{ email: "neon@example.com" }]);
  });

  it("parses ids and counts as numbers and money as exact decimal strings", async () => {
    const { client } = await neonClient();
    const out = await client.use(async (db) => {
      const [user] = await db.insertInto("user").values({ email: "types@example.com" }).returning(["id", "created_at"]).execute();
      const [row] = await db.insertInto("row").values({ user_id: user!.id, title: "t" }).returning("id").execute();
      const [bid] = await db
        .insertInto("bid")
        .values({ row_id: row!.id, title: "b", price: "19.99", currency: "USD", url: "https://shop.example/x" })
        .returning(["id", "price"])
        .execute();
      const { rows } = await sql<{ n: number }>`select count(*) as n from bid`.execute(db);
      return { user: user!, bid: bid!, count: rows[0]!.n };
    });
    expect(out.user.id).toBeTypeOf("number");
    expect(out.user.created_at).toBeInstanceOf(Date);
    expect(out.bid.price).toBe("19.99");
    expect(out.count).toBe(1);
  });
});
