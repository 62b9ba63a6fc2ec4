import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import * as bx from "../support/bid-fixtures.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

/** The ids of the matching bids in list order (newest first), straight from the database. */
async function expectedBidIds(where: { rowId?: number; sellerId?: number }): Promise<number[]> {
  const rows = await Database.use((db) =>
    db
      .selectFrom("bid")
      .select("id")
      .$if(where.rowId !== undefined, (qb) => qb.where("row_id", "=", where.rowId!))
      .$if(where.sellerId !== undefined, (qb) => qb.where("seller_id", "=", where.sellerId!))
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .execute(),
  );
  return rows.map((r) => r.id);
}

describe.each(targets())("bids on %s", (target) => {
  useApiDatabase(target);

  describe("GET /api/rows/{row_id}/bids", () => {
    it("lists the row's bids newest first, each with its seller", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const other = await fx.row(me.id);
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      const older = await fx.bid(r.id, { sellerId: s.id, price: "1234.50", created_at: new Date("2026-01-01T00:00:00Z") });
      const newer = await fx.bid(r.id, { sellerId: null, created_at: new Date("2026-02-01T00:00:00Z") });
      await fx.bid(other.id);
      const res = await call("GET", `/api/rows/${r.id}/bids`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.next_cursor).toBeNull();
      expect(res.body.items.map((b: { id: number }) => b.id)).toEqual([newer.id, older.id]);
      expect(res.body.items[1]).toEqual({
        id: older.id,
        row_id: r.id,
        seller_id: s.id,
        seller: { id: s.id, name: "Desk Depot", domain: "deskdepot.example" },
        title: "Desk 3000",
        price: "1234.50",
        currency: "USD",
        url: "https://www.amazon.com/dp/B000TEST",
        image_url: null,
        source: "search",
        is_selected: false,
        is_liked: false,
        created_at: "2026-01-01T00:00:00.000Z",
      });
      expect(res.body.items[0]).toMatchObject({ seller_id: null, seller: null });
    });

    it("answers an empty page for a row without bids", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("GET", `/api/rows/${r.id}/bids`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], next_cursor: null });
    });

    it("filters by liked and selected", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const liked = await fx.bid(r.id, { is_liked: true });
      const selected = await fx.bid(r.id, { is_selected: true });
      const plain = await fx.bid(r.id);
      const ids = async (qs: string) => {
        const res = await call("GET", `/api/rows/${r.id}/bids?${qs}`, { token: me.token });
        expect(res.status).toBe(200);
        return res.body.items.map((b: { id: number }) => b.id).sort((a: number, b: number) => a - b);
      };
      expect(await ids("liked=true")).toEqual([liked.id]);
      expect(await ids("liked=false")).toEqual([selected.id, plain.id]);
      expect(await ids("selected=true")).toEqual([selected.id]);
      expect(await ids("selected=false&liked=false")).toEqual([plain.id]);
    });

    it("pages through every bid exactly once, ties on created_at broken by id", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      await bx.tiedBids(r.id, 47);
      const { items, pages } = await fx.allPages<{ id: number }>(async (cursor) => {
        const res = await call("GET", `/api/rows/${r.id}/bids?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        return res.body;
      });
      expect(pages).toBe(5);
      const ids = items.map((b) => b.id);
      expect(new Set(ids).size).toBe(47);
      expect(ids).toEqual(await expectedBidIds({ rowId: r.id }));
    });

    it("pages through a filtered list with the filter kept on every page", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      await bx.tiedBids(r.id, 30); // every even one is liked
      const { items, pages } = await fx.allPages<{ id: number; is_liked: boolean }>(async (cursor) => {
        const res = await call("GET", `/api/rows/${r.id}/bids?liked=true&limit=4${cursor ? `&cursor=${cursor}` : ""}`, {
          token: me.token,
        });
        return res.body;
      });
      expect(items).toHaveLength(15);
      expect(pages).toBe(4);
      expect(items.every((b) => b.is_liked)).toBe(true);
      expect(new Set(items.map((b) => b.id)).size).toBe(15);
    });

    it("issues the same number of queries with 1 bid as with 60 (no N+1)", async () => {
      const me = await fx.user();
      const s = await fx.seller();
      const small = await fx.row(me.id);
      await fx.bid(small.id, { sellerId: s.id });
      const big = await fx.row(me.id);
      await fx.manyBids(big.id, 60, s.id);
      const one = await call("GET", `/api/rows/${small.id}/bids`, { token: me.token });
      expect(one.body.items).toHaveLength(1);
      const withOne = lastQueryCount(logs);
      const sixty = await call("GET", `/api/rows/${big.id}/bids?limit=100`, { token: me.token });
      expect(sixty.body.items).toHaveLength(60);
      const withSixty = lastQueryCount(logs);
      expect(withSixty).toBe(withOne);
      expect(withOne).toBe(1); // the session check, the row and its page of bids in one statement
    });

    it("answers 404 for another user's row and for a missing one, not an empty list", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      await fx.bid(theirs.id);
      const res = await call("GET", `/api/rows/${theirs.id}/bids`, { token: me.token });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: "row not found" } });
      expect((await call("GET", "/api/rows/987654321/bids", { token: me.token })).status).toBe(404);
    });

    it.each([
      ["liked=yes", "query.liked"],
      ["selected=1", "query.selected"],
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["cursor=not-a-cursor", "query.cursor"],
    ])("answers 400 for ?%s", async (qs, path) => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("GET", `/api/rows/${r.id}/bids?${qs}`, { token: me.token });
      expectInvalid(res, path);
    });

    it("answers 400 for a non-integer row id", async () => {
      const me = await fx.user();
      const res = await call("GET", "/api/rows/abc/bids", { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path: "path.row_id" }));
    });
  });

  describe("POST /api/rows/{row_id}/bids/{bid_id}/select", () => {
    it("selects the bid, unselects the previous one and moves the row to selected", async () => {
      const me = await fx.user();
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      const r = await fx.row(me.id);
      const previous = await fx.bid(r.id, { is_selected: true });
      const chosen = await fx.bid(r.id, { sellerId: s.id, price: "99.00" });
      const before = await bx.rowState(r.id);
      const res = await call("POST", `/api/rows/${r.id}/bids/${chosen.id}/select`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: chosen.id,
        row_id: r.id,
        is_selected: true,
        price: "99.00",
        seller: { id: s.id, name: "Desk Depot", domain: "deskdepot.example" },
      });
      expect(await bx.bidFlags(r.id)).toEqual([
        { id: previous.id, is_selected: false, is_liked: false },
        { id: chosen.id, is_selected: true, is_liked: false },
      ]);
      const after = await bx.rowState(r.id);
      expect(before.status).toBe("sourcing");
      expect(after.status).toBe("selected");
      expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
      const listed = await call("GET", `/api/rows/${r.id}`, { token: me.token });
      expect(listed.body).toMatchObject({ status: "selected", selected_bid_id: chosen.id });
    });

    it("selecting the selected bid again keeps it selected", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      expect((await call("POST", `/api/rows/${r.id}/bids/${b.id}/select`, { token: me.token })).status).toBe(200);
      const again = await call("POST", `/api/rows/${r.id}/bids/${b.id}/select`, { token: me.token });
      expect(again.status).toBe(200);
      expect(again.body.is_selected).toBe(true);
      expect(await bx.bidFlags(r.id)).toEqual([{ id: b.id, is_selected: true, is_liked: false }]);
    });

    it("answers 404 for a bid of another row and changes nothing", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id, { status: "reviewing" });
      const mine = await fx.bid(r.id, { is_selected: true });
      const elsewhere = await fx.row(me.id);
      const foreign = await fx.bid(elsewhere.id);
      const before = await bx.rowState(r.id);
      const res = await call("POST", `/api/rows/${r.id}/bids/${foreign.id}/select`, { token: me.token });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: "bid not found" } });
      expect(await bx.bidFlags(r.id)).toEqual([{ id: mine.id, is_selected: true, is_liked: false }]);
      expect(await bx.bidFlags(elsewhere.id)).toEqual([{ id: foreign.id, is_selected: false, is_liked: false }]);
      expect(await bx.rowState(r.id)).toEqual(before);
      expect((await bx.rowState(elsewhere.id)).status).toBe("sourcing");
      expect((await call("POST", `/api/rows/${r.id}/bids/987654321/select`, { token: me.token })).status).toBe(404);
    });

    it("answers 404 for another user's row and changes nothing", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      const b = await fx.bid(theirs.id);
      const res = await call("POST", `/api/rows/${theirs.id}/bids/${b.id}/select`, { token: me.token });
      expect(res.status).toBe(404);
      expect(res.body.error.message).toBe("row not found");
      expect(await bx.bidFlags(theirs.id)).toEqual([{ id: b.id, is_selected: false, is_liked: false }]);
      expect((await bx.rowState(theirs.id)).status).toBe("sourcing");
    });

    it.each([
      ["abc", "1", "path.row_id"],
      ["1", "1.5", "path.bid_id"],
      ["1", "-2", "path.bid_id"],
    ])("answers 400 for row %s bid %s", async (rowId, bidId, path) => {
      const me = await fx.user();
      const res = await call("POST", `/api/rows/${rowId}/bids/${bidId}/select`, { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path }));
    });

    it("issues a fixed number of queries", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      await fx.manyBids(r.id, 30);
      await call("POST", `/api/rows/${r.id}/bids/${b.id}/select`, { token: me.token });
      // the session check; one statement locks the row, unselects, selects and moves the row's status
      expect(lastQueryCount(logs)).toBe(2);
    });
  });

  // PGlite is one session, so requests to it never overlap: only a server can race.
  describe.skipIf(target === "pglite")("racing selects", () => {
    it("answers every racing select and leaves exactly one bid selected", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const bids = await Promise.all([1, 2, 3, 4, 5].map(() => fx.bid(r.id)));
      const results = await Promise.all(
        bids.map((b) => call("POST", `/api/rows/${r.id}/bids/${b.id}/select`, { token: me.token })),
      );
      expect(results.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
      const selected = (await bx.bidFlags(r.id)).filter((b) => b.is_selected);
      expect(selected).toHaveLength(1);
      expect((await bx.rowState(r.id)).status).toBe("selected");
    });
  });

  describe("PATCH /api/bids/{bid_id}", () => {
    it("likes and unlikes a bid, answering it with its seller", async () => {
      const me = await fx.user();
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id, { sellerId: s.id });
      const liked = await call("PATCH", `/api/bids/${b.id}`, { token: me.token, body: { is_liked: true } });
      expect(liked.status).toBe(200);
      expect(liked.body).toMatchObject({
        id: b.id,
        is_liked: true,
        price: "199.99",
        seller: { id: s.id, name: "Desk Depot", domain: "deskdepot.example" },
      });
      const unliked = await call("PATCH", `/api/bids/${b.id}`, { token: me.token, body: { is_liked: false } });
      expect(unliked.body.is_liked).toBe(false);
      expect(await bx.bidFlags(r.id)).toEqual([{ id: b.id, is_selected: false, is_liked: false }]);
      expect(lastQueryCount(logs)).toBe(2);
    });

    it("answers 404 for a bid on another user's row and leaves it alone", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      const b = await fx.bid(theirs.id);
      const res = await call("PATCH", `/api/bids/${b.id}`, { token: me.token, body: { is_liked: true } });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: "bid not found" } });
      expect(await bx.bidFlags(theirs.id)).toEqual([{ id: b.id, is_selected: false, is_liked: false }]);
      expect((await call("PATCH", "/api/bids/987654321", { token: me.token, body: { is_liked: true } })).status).toBe(404);
    });

    it.each([
      [{}, "body.is_liked"],
      [{ is_liked: "yes" }, "body.is_liked"],
      [{ is_liked: null }, "body.is_liked"],
      [{ is_liked: true, is_selected: true }, "body"],
      [null, "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      const res = await call("PATCH", `/api/bids/${b.id}`, { token: me.token, body });
      expectInvalid(res, path);
    });

    it("answers 400 for a missing body and a non-integer id", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      const missing = await call("PATCH", `/api/bids/${b.id}`, { token: me.token });
      expect(missing.status).toBe(400);
      expect(missing.body.error.details).toEqual([{ path: "body", message: expect.any(String) }]);
      const bad = await call("PATCH", "/api/bids/1.5", { token: me.token, body: { is_liked: true } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details).toContainEqual(expect.objectContaining({ path: "path.bid_id" }));
    });
  });

  describe("GET /api/sellers/{seller_id}/bids", () => {
    it("lists the seller's bids on the caller's rows only; an admin sees every row's", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const admin = await fx.user({ admin: true });
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      const rival = await fx.seller("Rival");
      const mineRow = await fx.row(me.id);
      const theirRow = await fx.row(other.id);
      const mine = await fx.bid(mineRow.id, { sellerId: s.id, created_at: new Date("2026-01-01T00:00:00Z") });
      const theirs = await fx.bid(theirRow.id, { sellerId: s.id, created_at: new Date("2026-02-01T00:00:00Z") });
      await fx.bid(mineRow.id, { sellerId: rival.id });
      await fx.bid(mineRow.id, { sellerId: null });

      const forMe = await call("GET", `/api/sellers/${s.id}/bids`, { token: me.token });
      expect(forMe.status).toBe(200);
      expect(forMe.body.items.map((b: { id: number }) => b.id)).toEqual([mine.id]);
      expect(forMe.body.items[0]).toMatchObject({ seller: { id: s.id, name: "Desk Depot", domain: "deskdepot.example" } });
      expect(forMe.body.next_cursor).toBeNull();

      const forOther = await call("GET", `/api/sellers/${s.id}/bids`, { token: other.token });
      expect(forOther.body.items.map((b: { id: number }) => b.id)).toEqual([theirs.id]);

      const forAdmin = await call("GET", `/api/sellers/${s.id}/bids`, { token: admin.token });
      expect(forAdmin.status).toBe(200);
      expect(forAdmin.body.items.map((b: { id: number }) => b.id)).toEqual([theirs.id, mine.id]);
    });

    it("answers an empty list for a known seller with no bids for you, 404 for an unknown one", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const s = await fx.seller();
      await fx.bid((await fx.row(other.id)).id, { sellerId: s.id });
      const empty = await call("GET", `/api/sellers/${s.id}/bids`, { token: me.token });
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ items: [], next_cursor: null });
      const unknown = await call("GET", "/api/sellers/987654321/bids", { token: me.token });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ error: { code: "not_found", message: "seller not found" } });
    });

    it("pages through every bid exactly once across the caller's rows, in one statement per page", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const s = await fx.seller();
      const a = await fx.row(me.id);
      const b = await fx.row(me.id);
      await bx.tiedBids(a.id, 20, s.id);
      await bx.tiedBids(b.id, 13, s.id);
      await bx.tiedBids((await fx.row(other.id)).id, 9, s.id);
      const counts: number[] = [];
      const { items, pages } = await fx.allPages<{ id: number; row_id: number }>(async (cursor) => {
        const res = await call("GET", `/api/sellers/${s.id}/bids?limit=7${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        counts.push(lastQueryCount(logs));
        return res.body;
      });
      expect(pages).toBe(5);
      expect(new Set(items.map((i) => i.id)).size).toBe(33);
      expect(items.every((i) => i.row_id === a.id || i.row_id === b.id)).toBe(true);
      const mineOnly = (await expectedBidIds({ sellerId: s.id })).filter((id) => items.some((i) => i.id === id));
      expect(items.map((i) => i.id)).toEqual(mineOnly);
      expect(new Set(counts)).toEqual(new Set([2]));
    });

    it.each([
      ["abc", "", "path.seller_id"],
      ["1", "limit=101", "query.limit"],
      ["1", "cursor=nope", "query.cursor"],
    ])("answers 400 for seller %s ?%s", async (sellerId, qs, path) => {
      const me = await fx.user();
      const res = await call("GET", `/api/sellers/${sellerId}/bids?${qs}`, { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path }));
    });
  });
});
