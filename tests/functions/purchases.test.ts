import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import * as cx from "../support/commerce-fixtures.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

function storedPurchases(userId: number) {
  return Database.use((db) =>
    db.selectFrom("purchase_event").select(["id", "bid_id", "idempotency_key"]).where("user_id", "=", userId).orderBy("id").execute(),
  );
}

/** A user with a row and a bid on it, ready to buy. */
async function buyer(price = "199.99") {
  const u = await fx.user();
  const r = await fx.row(u.id);
  const b = await fx.bid(r.id, { price });
  return { ...u, rowId: r.id, bidId: b.id };
}

function purchase(token: string, bidId: number, key?: string) {
  return call("POST", "/api/purchases", {
    token,
    body: { bid_id: bidId },
    ...(key === undefined ? {} : { headers: { "idempotency-key": key } }),
  });
}

describe.each(targets())("purchases on %s", (target) => {
  useApiDatabase(target);

  describe("POST /api/purchases", () => {
    it("creates a pending purchase with the bid's amount and currency", async () => {
      const me = await buyer("1234.50");
      const res = await purchase(me.token, me.bidId, "order-1");
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        user_id: me.id,
        row_id: me.rowId,
        bid_id: me.bidId,
        amount: "1234.50",
        currency: "USD",
        status: "pending",
        idempotency_key: "order-1",
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect(lastQueryCount(logs)).toBe(2); // the session check, then the insert
    });

    it("replays the same purchase with 200 for a repeated key, and stores one row", async () => {
      const me = await buyer();
      const first = await purchase(me.token, me.bidId, "retry-me");
      const again = await purchase(me.token, me.bidId, "retry-me");
      expect(first.status).toBe(201);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(lastQueryCount(logs)).toBe(2); // the session check, the insert that found the first purchase
      expect(await storedPurchases(me.id)).toEqual([{ id: first.body.id, bid_id: me.bidId, idempotency_key: "retry-me" }]);
    });

    it("replays the same purchase with 200 when the key comes again after its row was deleted", async () => {
      const me = await buyer();
      const first = await purchase(me.token, me.bidId, "before-delete");
      expect((await call("DELETE", `/api/rows/${me.rowId}`, { token: me.token })).status).toBe(204);
      const again = await purchase(me.token, me.bidId, "before-delete");
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ ...first.body, row_id: null, bid_id: null });
      expect(await storedPurchases(me.id)).toHaveLength(1);
    });

    it("answers 409 for a key already used with another bid, and stores nothing more", async () => {
      const me = await buyer();
      const second = await fx.bid(me.rowId);
      expect((await purchase(me.token, me.bidId, "k-1")).status).toBe(201);
      const res = await purchase(me.token, second.id, "k-1");
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("conflict");
      expect(await storedPurchases(me.id)).toHaveLength(1);
    });

    it("creates a new purchase on every call without a key", async () => {
      const me = await buyer();
      const a = await purchase(me.token, me.bidId);
      const b = await purchase(me.token, me.bidId);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.id).not.toBe(b.body.id);
      expect(a.body.idempotency_key).toBeNull();
      expect(await storedPurchases(me.id)).toHaveLength(2);
    });

    it("keeps each user's keys apart", async () => {
      const me = await buyer();
      const other = await buyer();
      const mine = await purchase(me.token, me.bidId, "shared-key");
      const theirs = await purchase(other.token, other.bidId, "shared-key");
      expect([mine.status, theirs.status]).toEqual([201, 201]);
      expect(mine.body.id).not.toBe(theirs.body.id);
    });

    it("accepts a key of 255 printable ASCII characters", async () => {
      const me = await buyer();
      const key = ` !~${"k".repeat(252)}`;
      const res = await purchase(me.token, me.bidId, key);
      expect(res.status).toBe(201);
      expect(res.body.idempotency_key).toBe(key);
    });

    it.each([
      ["an empty key", ""],
      ["a key over 255 characters", "k".repeat(256)],
      ["a non-ASCII key", "clé-1"],
      ["a key with a control character", "a\tb"],
    ])("answers 400 at headers.idempotency-key for %s", async (_name, key) => {
      const me = await buyer();
      const res = await purchase(me.token, me.bidId, key);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(res.body.error.details).toContainEqual({ path: "headers.idempotency-key", message: expect.any(String) });
      expect(await storedPurchases(me.id)).toEqual([]);
    });

    it.each([
      [{}, "body.bid_id"],
      [{ bid_id: "7" }, "body.bid_id"],
      [{ bid_id: 0 }, "body.bid_id"],
      [{ bid_id: 2.5 }, "body.bid_id"],
      [{ bid_id: 1, amount: "0.01" }, "body"],
      [null, "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const me = await fx.user();
      const res = await call("POST", "/api/purchases", { token: me.token, body });
      expectInvalid(res, path);
    });

    it("answers 404 for another user's bid and for a missing one, with or without a key, and stores nothing", async () => {
      const me = await buyer();
      const other = await buyer();
      for (const key of [undefined, "k-404"]) {
        const res = await purchase(me.token, other.bidId, key);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: { code: "not_found", message: "bid not found" } });
        expect((await purchase(me.token, 987654321, key)).status).toBe(404);
      }
      expect(await storedPurchases(me.id)).toEqual([]);
      expect(await storedPurchases(other.id)).toEqual([]);
    });
  });

  describe.runIf(target !== "pglite")("POST /api/purchases racing itself", () => {
    it("creates exactly one purchase from 5 concurrent requests with one key", async () => {
      const me = await buyer();
      const results = await Promise.all(Array.from({ length: 5 }, () => purchase(me.token, me.bidId, "double-click")));
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      const stored = await storedPurchases(me.id);
      expect(stored).toEqual([{ id: results[0]!.body.id, bid_id: me.bidId, idempotency_key: "double-click" }]);
    });
  });

  describe("GET /api/purchases", () => {
    it("lists only the caller's purchases, newest first", async () => {
      const me = await buyer("10.00");
      const other = await buyer();
      const first = await purchase(me.token, me.bidId, "a");
      const second = await purchase(me.token, me.bidId, "b");
      await purchase(other.token, other.bidId);
      const res = await call("GET", "/api/purchases", { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [second.body, first.body], next_cursor: null });
      expect(lastQueryCount(logs)).toBe(2); // the session check, then the page
    });

    it("filters by status", async () => {
      const me = await fx.user();
      await cx.purchases(me.id, 2, "completed");
      await cx.purchases(me.id, 3, "refunded");
      const res = await call("GET", "/api/purchases?status=completed", { token: me.token });
      expect(res.body.items).toHaveLength(2);
      expect(res.body.items.every((p: { status: string }) => p.status === "completed")).toBe(true);
      expect((await call("GET", "/api/purchases?status=failed", { token: me.token })).body.items).toEqual([]);
    });

    it("still lists a purchase after its row is deleted, with row_id and bid_id null", async () => {
      const me = await buyer();
      const bought = await purchase(me.token, me.bidId);
      expect((await call("DELETE", `/api/rows/${me.rowId}`, { token: me.token })).status).toBe(204);
      const res = await call("GET", "/api/purchases", { token: me.token });
      expect(res.body.items).toEqual([{ ...bought.body, row_id: null, bid_id: null }]);
    });

    it.each([
      ["status=shipped", "query.status"],
      ["status=", "query.status"],
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["limit=ten", "query.limit"],
      ["cursor=not-a-cursor", "query.cursor"],
    ])("answers 400 for ?%s", async (qs, path) => {
      const me = await fx.user();
      const res = await call("GET", `/api/purchases?${qs}`, { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path }));
    });

    it("pages through every purchase exactly once, ties on created_at broken by id", async () => {
      const me = await fx.user();
      const other = await fx.user();
      await cx.purchases(me.id, 47);
      await cx.purchases(other.id, 5);
      const { items, pages } = await fx.allPages<{ id: number; user_id: number }>(async (cursor) => {
        const res = await call("GET", `/api/purchases?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        return res.body;
      });
      expect(pages).toBe(5);
      const ids = items.map((p) => p.id);
      expect(new Set(ids).size).toBe(47);
      expect(items.every((p) => p.user_id === me.id)).toBe(true);
      const expected = await Database.use((db) =>
        db
          .selectFrom("purchase_event")
          .select("id")
          .where("user_id", "=", me.id)
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .execute(),
      );
      expect(ids).toEqual(expected.map((p) => p.id));
    });
  });
});
