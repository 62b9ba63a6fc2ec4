import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

describe.each(targets())("rows on %s", (target) => {
  useApiDatabase(target);

  describe("POST /api/rows", () => {
    it("creates a row in status sourcing with outreach not started", async () => {
      const u = await fx.user();
      const res = await call("POST", "/api/rows", { token: u.token, body: { title: " standing desk ", choice_factors: ["oak", { max: 300 }] } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        user_id: u.id,
        title: "standing desk",
        status: "sourcing",
        outreach_status: "not_started",
        choice_factors: ["oak", { max: 300 }],
        chat_history: [],
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updated_at: expect.any(String),
      });
    });

    it.each([
      [{}, "body.title"],
      [{ title: "" }, "body.title"],
      [{ title: "x".repeat(501) }, "body.title"],
      [{ title: 42 }, "body.title"],
      [{ title: "desk", choice_factors: "oak" }, "body.choice_factors"],
      [{ title: "desk", colour: "red" }, "body"],
      [null, "body"],
      [["desk"], "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const u = await fx.user();
      const res = await call("POST", "/api/rows", { token: u.token, body });
      expectInvalid(res, path);
    });

    it("answers 400 for a missing body", async () => {
      const u = await fx.user();
      const res = await call("POST", "/api/rows", { token: u.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: "body", message: expect.any(String) }]);
    });
  });

  describe("GET /api/rows", () => {
    it("lists only the caller's rows, newest first, with bid_count and without chat_history", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const older = await fx.row(me.id, { title: "older", created_at: new Date("2026-01-01T00:00:00Z") });
      const newer = await fx.row(me.id, { title: "newer", created_at: new Date("2026-02-01T00:00:00Z") });
      await fx.row(other.id, { title: "not mine" });
      await fx.bid(newer.id);
      await fx.bid(newer.id);
      const res = await call("GET", "/api/rows", { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.items.map((r: { title: string }) => r.title)).toEqual(["newer", "older"]);
      expect(res.body.items[0]).toMatchObject({ id: newer.id, bid_count: 2, created_at: "2026-02-01T00:00:00.000Z" });
      expect(res.body.items[1]).toMatchObject({ id: older.id, bid_count: 0 });
      expect(res.body.items[0]).not.toHaveProperty("chat_history");
      expect(res.body.next_cursor).toBeNull();
    });

    it("filters by status and outreach_status", async () => {
      const me = await fx.user();
      await fx.row(me.id, { title: "a", status: "reviewing" });
      await fx.row(me.id, { title: "b" });
      const res = await call("GET", "/api/rows?status=reviewing", { token: me.token });
      expect(res.body.items.map((r: { title: string }) => r.title)).toEqual(["a"]);
      const none = await call("GET", "/api/rows?outreach_status=completed", { token: me.token });
      expect(none.body.items).toEqual([]);
    });

    it.each<[string, string]>([
      ["status=shipping", "query.status"],
      ["outreach_status=maybe", "query.outreach_status"],
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["limit=ten", "query.limit"],
      ["cursor=not-a-cursor", "query.cursor"],
      ...["2026-02-30T00:00:00.000000Z", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "0000-01-01T00:00:00Z"].map(
        (t): [string, string] => [`cursor=${Buffer.from(JSON.stringify({ t, id: 1 })).toString("base64url")} (${t})`, "query.cursor"],
      ),
    ])("answers 400 for ?%s", async (qs, path) => {
      const me = await fx.user();
      const res = await call("GET", `/api/rows?${qs.split(" ")[0]}`, { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path }));
    });

    it("pages through every row exactly once, ties on created_at broken by id", async () => {
      const me = await fx.user();
      await Database.use((db) =>
        sql`
          insert into "row" (user_id, title, created_at)
          select ${me.id}, 'row ' || g, timestamp '2026-03-01 12:00:00.123456+00' - make_interval(secs => g / 3)
          from generate_series(1, 47) g`.execute(db),
      );
      const { items, pages } = await fx.allPages<{ id: number }>(async (cursor) => {
        const res = await call("GET", `/api/rows?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        return res.body;
      });
      expect(pages).toBe(5);
      const ids = items.map((r) => r.id);
      expect(new Set(ids).size).toBe(47);
      const expected = await Database.use((db) =>
        db.selectFrom("row").select("id").where("user_id", "=", me.id).orderBy("created_at", "desc").orderBy("id", "desc").execute(),
      );
      expect(ids).toEqual(expected.map((r) => r.id));
    });
  });

  describe("GET /api/rows/{row_id}", () => {
    it("returns the row with chat history, its 20 newest bids with sellers, and the selected bid", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      await fx.manyBids(r.id, 25, s.id);
      const selected = await fx.bid(r.id, { is_selected: true, sellerId: null, price: "10.50", created_at: new Date(Date.now() + 1000) });
      await Database.use((db) => db.updateTable("row").set({ chat_history: '[{"role":"user","content":"hi"}]' }).execute());
      const res = await call("GET", `/api/rows/${r.id}`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: r.id, chat_history: [{ role: "user", content: "hi" }], selected_bid_id: selected.id });
      expect(res.body.bids).toHaveLength(20);
      expect(res.body.bids[0]).toEqual({
        id: selected.id,
        row_id: r.id,
        seller_id: null,
        seller: null,
        title: "Desk 3000",
        price: "10.50",
        currency: "USD",
        url: "https://www.amazon.com/dp/B000TEST",
        image_url: null,
        source: "search",
        is_selected: true,
        is_liked: false,
        created_at: expect.stringMatching(/Z$/),
      });
      expect(res.body.bids[1].seller).toEqual({ id: s.id, name: "Desk Depot", domain: "deskdepot.example" });
      const times = res.body.bids.map((b: { created_at: string }) => b.created_at);
      expect([...times].sort().reverse()).toEqual(times);
    });

    it("issues the same number of queries with 1 bid as with 60 (no N+1)", async () => {
      const me = await fx.user();
      const s = await fx.seller();
      const small = await fx.row(me.id);
      await fx.bid(small.id, { sellerId: s.id });
      const big = await fx.row(me.id);
      await fx.manyBids(big.id, 60, s.id);
      await call("GET", `/api/rows/${small.id}`, { token: me.token });
      const withOne = lastQueryCount(logs);
      await call("GET", `/api/rows/${big.id}`, { token: me.token });
      const withSixty = lastQueryCount(logs);
      expect(withSixty).toBe(withOne);
      expect(withOne).toBe(1); // the session check, the row and its bids in one statement
    });

    it("answers 404 for another user's row and for a missing one, 400 for a non-integer id", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      expect((await call("GET", `/api/rows/${theirs.id}`, { token: me.token })).status).toBe(404);
      const missing = await call("GET", "/api/rows/987654321", { token: me.token });
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ error: { code: "not_found", message: "row not found" } });
      for (const bad of ["abc", "1.5", "-3", "0", "99999999999999999999"]) {
        const res = await call("GET", `/api/rows/${bad}`, { token: me.token });
        expect(res.status, bad).toBe(400);
        expect(res.body.error.details[0].path).toBe("path.row_id");
      }
    });

    it("never fails on corrupt stored JSON: the default is served and a warning logged", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      await Database.use((db) =>
        db.updateTable("row").set({ chat_history: "{oops", choice_factors: "[1," }).where("id", "=", r.id).execute(),
      );
      const res = await call("GET", `/api/rows/${r.id}`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ chat_history: [], choice_factors: [] });
      expect(logs.filter((l) => l.level === "warn").map((l) => l.entry.field)).toEqual(
        expect.arrayContaining(["chat_history", "choice_factors"]),
      );
    });
  });

  describe("deeply nested JSON", () => {
    const nested = (depth: number): unknown => {
      let v: unknown = "leaf";
      for (let i = 0; i < depth; i++) v = [v];
      return v;
    };

    it("refuses choice_factors and chat_history nested too deeply, instead of storing them as []", async () => {
      const me = await fx.user();
      const r = await call("POST", "/api/rows", { token: me.token, body: { title: "t", chat_history: undefined, choice_factors: [nested(40)] } });
      expectInvalid(r, "body.choice_factors");
      const row = await fx.row(me.id);
      await call("PATCH", `/api/rows/${row.id}`, { token: me.token, body: { chat_history: [{ role: "user", content: "keep me" }] } });
      // Written by hand: stringifying 4,400 levels could itself run out of stack.
      const deep = `${"[".repeat(4400)}"leaf"${"]".repeat(4400)}`;
      const wipe = await call("PATCH", `/api/rows/${row.id}`, { token: me.token, rawBody: `{"chat_history":[${deep}]}` });
      expectInvalid(wipe, "body.chat_history");
      const after = await call("GET", `/api/rows/${row.id}`, { token: me.token });
      expect(after.body.chat_history).toEqual([{ role: "user", content: "keep me" }]);
    });

    it("still lists a user's rows when one row holds JSON nested 20,000 deep (stored before the limit)", async () => {
      const me = await fx.user();
      const deep = await fx.row(me.id);
      const fine = await fx.row(me.id);
      const text = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
      await Database.use((db) => sql`update row set choice_factors = ${text}, chat_history = ${text} where id = ${deep.id}`.execute(db));
      const list = await call("GET", "/api/rows", { token: me.token });
      expect(list.status).toBe(200);
      expect(list.body.items.map((i: { id: number; choice_factors: unknown }) => [i.id, i.choice_factors])).toEqual([
        [fine.id, []],
        [deep.id, []],
      ]);
      const detail = await call("GET", `/api/rows/${deep.id}`, { token: me.token });
      expect(detail.status).toBe(200);
      expect(detail.body.chat_history).toEqual([]);
    });
  });

  describe("PATCH /api/rows/{row_id}", () => {
    it("updates the given fields and moves updated_at", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const before = await call("GET", `/api/rows/${r.id}`, { token: me.token });
      const res = await call("PATCH", `/api/rows/${r.id}`, {
        token: me.token,
        body: { status: "reviewing", chat_history: [{ role: "assistant", content: "found 3" }] },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: "reviewing", title: before.body.title, chat_history: [{ role: "assistant", content: "found 3" }] });
      expect(new Date(res.body.updated_at).getTime()).toBeGreaterThan(new Date(before.body.updated_at).getTime());
    });

    it.each([
      [{}, "body"],
      [{ status: "done" }, "body.status"],
      [{ title: "" }, "body.title"],
      [{ chat_history: {} }, "body.chat_history"],
      [{ user_id: 1 }, "body"],
    ])("answers 400 for %j", async (body, path) => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("PATCH", `/api/rows/${r.id}`, { token: me.token, body });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path }));
    });

    it("answers 404 for another user's row and leaves it alone", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id, { title: "theirs" });
      const res = await call("PATCH", `/api/rows/${theirs.id}`, { token: me.token, body: { title: "mine now" } });
      expect(res.status).toBe(404);
      const still = await call("GET", `/api/rows/${theirs.id}`, { token: other.token });
      expect(still.body.title).toBe("theirs");
    });
  });

  describe("DELETE /api/rows/{row_id}", () => {
    it("deletes the row with its bids, comments and share links, and keeps purchases", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      await Database.use(async (db) => {
        await db.insertInto("comment").values({ row_id: r.id, bid_id: b.id, user_id: me.id, body: "nice" }).execute();
        await db
          .insertInto("share_link")
          .values({ token: "t".repeat(32), resource_type: "row", resource_id: r.id, created_by: me.id })
          .execute();
        await db
          .insertInto("purchase_event")
          .values({ user_id: me.id, row_id: r.id, bid_id: b.id, amount: "199.99", currency: "USD" })
          .execute();
      });
      const res = await call("DELETE", `/api/rows/${r.id}`, { token: me.token });
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
      expect((await call("GET", `/api/rows/${r.id}`, { token: me.token })).status).toBe(404);
      const left = await Database.use(async (db) => ({
        bids: (await db.selectFrom("bid").select("id").where("row_id", "=", r.id).execute()).length,
        comments: (await db.selectFrom("comment").select("id").where("row_id", "=", r.id).execute()).length,
        links: (await db.selectFrom("share_link").select("id").where("resource_id", "=", r.id).execute()).length,
        purchases: await db.selectFrom("purchase_event").select(["row_id", "amount"]).where("user_id", "=", me.id).execute(),
      }));
      expect(left).toEqual({ bids: 0, comments: 0, links: 0, purchases: [{ row_id: null, amount: "199.99" }] });
    });

    it("answers 404 for another user's row and deletes nothing", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      expect((await call("DELETE", `/api/rows/${theirs.id}`, { token: me.token })).status).toBe(404);
      expect((await call("GET", `/api/rows/${theirs.id}`, { token: other.token })).status).toBe(200);
    });
  });
});
