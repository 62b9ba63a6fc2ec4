import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import { Database } from "@shop/core/db";
import { tokenHash } from "@shop/core/ids";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

/** Every key anywhere in a JSON value, nested objects and arrays included. */
function keysDeep(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysDeep);
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...keysDeep(v)]);
  return [];
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

async function shareRow(token: string, rowId: number, extra: Record<string, unknown> = {}) {
  const res = await call("POST", "/api/share-links", { token, body: { resource_type: "row", resource_id: rowId, ...extra } });
  expect(res.status).toBe(201);
  return res.body as { token: string; url: string; expires_at: string | null };
}

describe.each(targets())("share links on %s", (target) => {
  useApiDatabase(target);

  describe("POST /api/share-links", () => {
    it("creates a link to the caller's row with an unguessable token and a url on the caller's origin", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("POST", "/api/share-links", { token: me.token, body: { resource_type: "row", resource_id: r.id } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ token: expect.stringMatching(TOKEN), url: `https://api.test/api/share/${res.body.token}`, expires_at: null });
      const stored = await Database.use((db) =>
        db.selectFrom("share_link").selectAll().where("token_hash", "=", tokenHash(res.body.token)).executeTakeFirstOrThrow(),
      );
      // Only the hash is kept: the token is shown once, in this answer.
      expect(stored).toMatchObject({ token: null, resource_type: "row", resource_id: r.id, created_by: me.id, expires_at: null });
      expect(Buffer.from(res.body.token, "base64url").length).toBeGreaterThanOrEqual(16);
      const again = await shareRow(me.token, r.id);
      expect(again.token).not.toBe(res.body.token);
    });

    it("sets expires_at expires_in_days after now", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const link = await shareRow(me.token, r.id, { expires_in_days: 7 });
      expect(link.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const { within } = await Database.use(async (db) => {
        const { rows } = await sql<{ within: boolean }>`
          select expires_at between now() + interval '7 days' - interval '5 minutes' and now() + interval '7 days' as within
          from share_link where token_hash = ${tokenHash(link.token)}`.execute(db);
        return rows[0]!;
      });
      expect(within).toBe(true);
    });

    it("writes an audit row for the creation, tagged with the request id", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("POST", "/api/share-links", { token: me.token, body: { resource_type: "row", resource_id: r.id } });
      expect(res.status).toBe(201);
      const audit = await Database.use((db) =>
        db
          .selectFrom("audit_log")
          .select(["user_id", "action", "resource_type", "resource_id", "success", "request_id"])
          .where("action", "=", "share_link.create")
          .where("user_id", "=", me.id)
          .execute(),
      );
      expect(audit).toEqual([
        {
          user_id: me.id,
          action: "share_link.create",
          resource_type: "row",
          resource_id: String(r.id),
          success: true,
          request_id: res.headers["x-request-id"],
        },
      ]);
      expect(lastQueryCount(logs)).toBe(2); // the session check; the insert with its ownership check and its audit row
    });

    it.each([
      [{}, "body.resource_type"],
      [{ resource_type: "bid", resource_id: 1 }, "body.resource_type"],
      [{ resource_type: "row" }, "body.resource_id"],
      [{ resource_type: "row", resource_id: "1" }, "body.resource_id"],
      [{ resource_type: "row", resource_id: 0 }, "body.resource_id"],
      [{ resource_type: "row", resource_id: 1, expires_in_days: 0 }, "body.expires_in_days"],
      [{ resource_type: "row", resource_id: 1, expires_in_days: 366 }, "body.expires_in_days"],
      [{ resource_type: "row", resource_id: 1, expires_in_days: 1.5 }, "body.expires_in_days"],
      [{ resource_type: "row", resource_id: 1, expires_in_days: "7" }, "body.expires_in_days"],
      [{ resource_type: "row", resource_id: 1, token: "mine" }, "body"],
      [null, "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const me = await fx.user();
      const res = await call("POST", "/api/share-links", { token: me.token, body });
      expectInvalid(res, path);
    });

    it("answers 404 for another user's row and for a missing one, creating no link and no audit row", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      for (const id of [theirs.id, 987654321]) {
        const res = await call("POST", "/api/share-links", { token: me.token, body: { resource_type: "row", resource_id: id } });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: { code: "not_found", message: "row not found" } });
      }
      const left = await Database.use(async (db) => ({
        links: await db.selectFrom("share_link").select("id").where("created_by", "=", me.id).execute(),
        audits: await db.selectFrom("audit_log").select("id").where("user_id", "=", me.id).execute(),
      }));
      expect(left).toEqual({ links: [], audits: [] });
    });
  });

  describe("GET /api/share/{token}", () => {
    it("shows the row, its 20 newest bids with sellers and the selected bid, without a bearer token", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id, { title: "oak desk" });
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      await fx.manyBids(r.id, 25, s.id);
      const selected = await fx.bid(r.id, { is_selected: true, sellerId: s.id, price: "10.50", created_at: new Date(Date.now() + 1000) });
      await Database.use((db) => db.updateTable("row").set({ choice_factors: '["oak",{"max":300}]' }).where("id", "=", r.id).execute());
      const link = await shareRow(me.token, r.id);

      const res = await call("GET", `/api/share/${link.token}`);
      expect(res.status).toBe(200);
      expect(res.body.row).toEqual({
        id: r.id,
        title: "oak desk",
        status: "sourcing",
        outreach_status: "not_started",
        choice_factors: ["oak", { max: 300 }],
        created_at: expect.stringMatching(/Z$/),
        updated_at: expect.stringMatching(/Z$/),
      });
      expect(res.body.selected_bid_id).toBe(selected.id);
      expect(res.body.bids).toHaveLength(20);
      expect(res.body.bids[0]).toEqual({
        id: selected.id,
        row_id: r.id,
        seller_id: s.id,
        seller: { id: s.id, name: "Desk Depot", domain: "deskdepot.example" },
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
      const times = res.body.bids.map((b: { created_at: string }) => b.created_at);
      expect([...times].sort().reverse()).toEqual(times);
    });

    it("shows no chat_history and no user fields anywhere in the JSON", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      await fx.bid(r.id, { sellerId: (await fx.seller()).id });
      await Database.use((db) =>
        db.updateTable("row").set({ chat_history: '[{"role":"user","content":"my secret budget"}]' }).where("id", "=", r.id).execute(),
      );
      const link = await shareRow(me.token, r.id);
      const res = await call("GET", `/api/share/${link.token}`);
      expect(res.status).toBe(200);
      const keys = new Set(keysDeep(res.body));
      for (const forbidden of ["chat_history", "user_id", "email", "user", "created_by", "token"]) {
        expect(keys.has(forbidden), forbidden).toBe(false);
      }
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(me.email);
      expect(text).not.toContain("my secret budget");
    });

    it("answers an empty bid list and no selected bid for a row without bids", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const link = await shareRow(me.token, r.id);
      const res = await call("GET", `/api/share/${link.token}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ bids: [], selected_bid_id: null });
    });

    it("runs one statement whatever the bid count (no N+1)", async () => {
      const me = await fx.user();
      const s = await fx.seller();
      const small = await fx.row(me.id);
      await fx.bid(small.id, { sellerId: s.id });
      const big = await fx.row(me.id);
      await fx.manyBids(big.id, 60, s.id);
      const smallLink = await shareRow(me.token, small.id);
      const bigLink = await shareRow(me.token, big.id);
      expect((await call("GET", `/api/share/${smallLink.token}`)).status).toBe(200);
      const withOne = lastQueryCount(logs);
      expect((await call("GET", `/api/share/${bigLink.token}`)).status).toBe(200);
      expect(lastQueryCount(logs)).toBe(withOne);
      expect(withOne).toBe(1);
    });

    it("answers 404 for an unknown token, even with a bearer token", async () => {
      const me = await fx.user();
      for (const token of [undefined, me.token]) {
        const res = await call("GET", "/api/share/no-such-link-no-such-link-no-such", token ? { token } : {});
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: { code: "not_found", message: "share link not found" } });
      }
    });

    it("answers 410 for an expired link and serves one that has not expired yet", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const fresh = await shareRow(me.token, r.id, { expires_in_days: 1 });
      expect((await call("GET", `/api/share/${fresh.token}`)).status).toBe(200);
      const old = await shareRow(me.token, r.id, { expires_in_days: 1 });
      await Database.use((db) =>
        db.updateTable("share_link").set({ expires_at: sql<Date>`now() - interval '1 second'` }).where("token_hash", "=", tokenHash(old.token)).execute(),
      );
      const res = await call("GET", `/api/share/${old.token}`);
      expect(res.status).toBe(410);
      expect(res.body).toEqual({ error: { code: "gone", message: "this share link has expired" } });
    });

    it("answers 404 once the row is deleted", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const link = await shareRow(me.token, r.id);
      expect((await call("DELETE", `/api/rows/${r.id}`, { token: me.token })).status).toBe(204);
      expect((await call("GET", `/api/share/${link.token}`)).status).toBe(404);
    });

    it("answers 400 for a token longer than any we issue", async () => {
      const res = await call("GET", `/api/share/${"a".repeat(201)}`);
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe("path.token");
    });
  });
});
