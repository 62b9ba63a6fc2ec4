import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { tokenHash } from "@shop/core/ids";
import { migrateDown, migrateToLatest } from "@shop/migrations/runner";
import { call } from "../support/api.ts";
import { createTestDatabase, stopNeonBridge, targets } from "../support/db.ts";
import { captureLogs } from "../support/logs.ts";
import { runOptions } from "../support/migrate.ts";

captureLogs();
afterAll(stopNeonBridge);

describe.each(targets())("0009_token_hashes on %s", (target) => {
  it("keeps share and quote tokens issued before it working, found by their hash", async () => {
    const db = await createTestDatabase(target);
    try {
      // Back to just before 0009 (any later migration comes back with it).
      let undone: string | null;
      do undone = await migrateDown(db.client, runOptions);
      while (undone !== null && undone !== "0009_token_hashes");
      expect(undone).toBe("0009_token_hashes");
      const share = "s".repeat(43);
      const quote = "q".repeat(43);
      await db.client.use(async (tx) => {
        const { rows } = await sql<{ row_id: number; user_id: number; seller_id: number }>`
          with u as (insert into "user" (email, name) values ('old@example.com', 'Old') returning id),
               r as (insert into "row" (user_id, title) select id, 'old row' from u returning id, user_id),
               s as (insert into seller (name) values ('Old Seller') returning id)
          select r.id as row_id, r.user_id, s.id as seller_id from r, s`.execute(tx);
        const { row_id, user_id, seller_id } = rows[0]!;
        await sql`insert into share_link (token, resource_type, resource_id, created_by) values (${share}, 'row', ${row_id}, ${user_id})`.execute(tx);
        await sql`insert into seller_quote (row_id, seller_id, token, token_expires_at) values (${row_id}, ${seller_id}, ${quote}, now() + interval '1 day')`.execute(tx);
      });
      await migrateToLatest(db.client, runOptions);
      const { rows } = await db.client.use((s) =>
        sql<{ token_hash: string }>`select token_hash from share_link union all select token_hash from seller_quote`.execute(s),
      );
      expect(rows.map((r) => r.token_hash)).toEqual([tokenHash(share), tokenHash(quote)]);
      Database.setDefault(db.client);
      expect((await call("GET", `/api/share/${share}`)).status).toBe(200);
      expect((await call("GET", `/api/quotes/${quote}`)).status).toBe(200);
      // One character off: not found, like any other guess.
      expect((await call("GET", `/api/share/${share.slice(0, -1)}t`)).status).toBe(404);
    } finally {
      Database.setDefault(null);
      await db.drop();
    }
  });
});
