import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import * as bx from "../support/bid-fixtures.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

async function commentCount(rowId: number): Promise<number> {
  const rows = await Database.use((db) => db.selectFrom("comment").select("id").where("row_id", "=", rowId).execute());
  return rows.length;
}

describe.each(targets())("comments on %s", (target) => {
  useApiDatabase(target);

  describe("POST /api/rows/{row_id}/comments", () => {
    it("adds a comment to the row, trimmed, in one statement after the session check", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("POST", `/api/rows/${r.id}/comments`, { token: me.token, body: { body: "  the oak one?  " } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        row_id: r.id,
        bid_id: null,
        user_id: me.id,
        body: "the oak one?",
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect(lastQueryCount(logs)).toBe(2);
    });

    it("adds a comment about one of the row's bids", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      const res = await call("POST", `/api/rows/${r.id}/comments`, { token: me.token, body: { body: "too pricey", bid_id: b.id } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ row_id: r.id, bid_id: b.id, body: "too pricey" });
    });

    it("accepts a body of exactly 10000 characters", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("POST", `/api/rows/${r.id}/comments`, { token: me.token, body: { body: "x".repeat(10_000) } });
      expect(res.status).toBe(201);
      expect(res.body.body).toHaveLength(10_000);
    });

    it("answers 404 for a bid of another row (even the caller's) and adds nothing", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const r = await fx.row(me.id);
      const mineElsewhere = await fx.bid((await fx.row(me.id)).id);
      const theirs = await fx.bid((await fx.row(other.id)).id);
      for (const bidId of [mineElsewhere.id, theirs.id, 987654321]) {
        const res = await call("POST", `/api/rows/${r.id}/comments`, { token: me.token, body: { body: "hm", bid_id: bidId } });
        expect(res.status, String(bidId)).toBe(404);
        expect(res.body).toEqual({ error: { code: "not_found", message: "bid not found" } });
      }
      expect(await commentCount(r.id)).toBe(0);
    });

    it("answers 404 for another user's row and adds nothing", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      const b = await fx.bid(theirs.id);
      for (const body of [{ body: "mine now" }, { body: "mine now", bid_id: b.id }]) {
        const res = await call("POST", `/api/rows/${theirs.id}/comments`, { token: me.token, body });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: { code: "not_found", message: "row not found" } });
      }
      expect(await commentCount(theirs.id)).toBe(0);
    });

    it.each([
      [{}, "body.body"],
      [{ body: "" }, "body.body"],
      [{ body: "   \n\t " }, "body.body"],
      [{ body: "x".repeat(10_001) }, "body.body"],
      [{ body: 42 }, "body.body"],
      [{ body: "hi", bid_id: "1" }, "body.bid_id"],
      [{ body: "hi", bid_id: 0 }, "body.bid_id"],
      [{ body: "hi", bid_id: 1.5 }, "body.bid_id"],
      [{ body: "hi", user_id: 1 }, "body"],
      [null, "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("POST", `/api/rows/${r.id}/comments`, { token: me.token, body });
      expectInvalid(res, path);
      expect(await commentCount(r.id)).toBe(0);
    });

    it("answers 400 for a non-integer row id", async () => {
      const me = await fx.user();
      const res = await call("POST", "/api/rows/x1/comments", { token: me.token, body: { body: "hi" } });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path: "path.row_id" }));
    });
  });

  describe("GET /api/rows/{row_id}/comments", () => {
    it("lists the row's comments oldest first", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const newer = await bx.comment(r.id, me.id, { body: "second", created_at: new Date("2026-02-01T00:00:00Z") });
      const older = await bx.comment(r.id, me.id, { body: "first", created_at: new Date("2026-01-01T00:00:00Z") });
      await bx.comment((await fx.row(me.id)).id, me.id, { body: "another row" });
      const res = await call("GET", `/api/rows/${r.id}/comments`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          { id: older.id, row_id: r.id, bid_id: null, user_id: me.id, body: "first", created_at: "2026-01-01T00:00:00.000Z" },
          { id: newer.id, row_id: r.id, bid_id: null, user_id: me.id, body: "second", created_at: "2026-02-01T00:00:00.000Z" },
        ],
        next_cursor: null,
      });
    });

    it("filters by bid_id", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b1 = await fx.bid(r.id);
      const b2 = await fx.bid(r.id);
      const about1 = await bx.comment(r.id, me.id, { bidId: b1.id });
      await bx.comment(r.id, me.id, { bidId: b2.id });
      await bx.comment(r.id, me.id);
      const res = await call("GET", `/api/rows/${r.id}/comments?bid_id=${b1.id}`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.items.map((c: { id: number }) => c.id)).toEqual([about1.id]);
      const none = await call("GET", `/api/rows/${r.id}/comments?bid_id=987654321`, { token: me.token });
      expect(none.body).toEqual({ items: [], next_cursor: null });
    });

    it("pages through every comment exactly once in chronological order, ties broken by id", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      await bx.tiedComments(r.id, me.id, 47);
      const counts: number[] = [];
      const { items, pages } = await fx.allPages<{ id: number }>(async (cursor) => {
        const res = await call("GET", `/api/rows/${r.id}/comments?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        counts.push(lastQueryCount(logs));
        return res.body;
      });
      expect(pages).toBe(5);
      const ids = items.map((c) => c.id);
      expect(new Set(ids).size).toBe(47);
      const expected = await Database.use((db) =>
        db.selectFrom("comment").select("id").where("row_id", "=", r.id).orderBy("created_at", "asc").orderBy("id", "asc").execute(),
      );
      expect(ids).toEqual(expected.map((c) => c.id));
      expect(new Set(counts)).toEqual(new Set([2])); // the session check, then the row with its page
    });

    it("answers 404 for another user's row and for a missing one, not an empty list", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      await bx.comment(theirs.id, other.id);
      const res = await call("GET", `/api/rows/${theirs.id}/comments`, { token: me.token });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: "row not found" } });
      expect((await call("GET", "/api/rows/987654321/comments", { token: me.token })).status).toBe(404);
    });

    it.each([
      ["bid_id=abc", "query.bid_id"],
      ["bid_id=0", "query.bid_id"],
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["cursor=not-a-cursor", "query.cursor"],
    ])("answers 400 for ?%s", async (qs, path) => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("GET", `/api/rows/${r.id}/comments?${qs}`, { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path, message: expect.any(String) }));
    });
  });
});
