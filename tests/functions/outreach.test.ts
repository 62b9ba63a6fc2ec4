import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";
import * as ox from "../support/outreach-fixtures.ts";

const logs = captureLogs();

describe.each(targets())("outreach on %s", (target) => {
  useApiDatabase(target);

  describe("GET /api/rows/{row_id}/outreach", () => {
    it("lists the row's outreach events newest first, each with its seller", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const elsewhere = await fx.row(me.id);
      const s = await fx.seller("Desk Depot", "deskdepot.example");
      const t = await fx.seller("Chair Co", null);
      const older = await ox.outreachEvent(r.id, s.id, { channel: "sms", created_at: new Date("2026-01-01T00:00:00Z") });
      const newer = await ox.outreachEvent(r.id, t.id, {
        status: "expired",
        expired_at: new Date("2026-02-02T00:00:00Z"),
        created_at: new Date("2026-02-01T00:00:00Z"),
      });
      await ox.outreachEvent(elsewhere.id, s.id);
      const res = await call("GET", `/api/rows/${r.id}/outreach`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          {
            id: newer.id,
            row_id: r.id,
            seller_id: t.id,
            seller: { id: t.id, name: "Chair Co", domain: null },
            channel: "email",
            status: "expired",
            expired_at: "2026-02-02T00:00:00.000Z",
            created_at: "2026-02-01T00:00:00.000Z",
          },
          {
            id: older.id,
            row_id: r.id,
            seller_id: s.id,
            seller: { id: s.id, name: "Desk Depot", domain: "deskdepot.example" },
            channel: "sms",
            status: "queued",
            expired_at: null,
            created_at: "2026-01-01T00:00:00.000Z",
          },
        ],
        next_cursor: null,
      });
      expect(lastQueryCount(logs)).toBe(2); // the session check, then the row with its page of events
    });

    it("answers an empty page for a row without outreach", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("GET", `/api/rows/${r.id}/outreach`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], next_cursor: null });
    });

    it("filters by status", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const s = await fx.seller();
      const sent = await ox.outreachEvent(r.id, s.id, { status: "sent" });
      await ox.outreachEvent(r.id, s.id, { status: "queued" });
      const res = await call("GET", `/api/rows/${r.id}/outreach?status=sent`, { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.items.map((e: { id: number }) => e.id)).toEqual([sent.id]);
      const none = await call("GET", `/api/rows/${r.id}/outreach?status=responded`, { token: me.token });
      expect(none.body).toEqual({ items: [], next_cursor: null });
    });

    it.each([
      ["status=bogus", "query.status"],
      ["status=", "query.status"],
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["cursor=not-a-cursor", "query.cursor"],
    ])("answers 400 for ?%s", async (qs, path) => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const res = await call("GET", `/api/rows/${r.id}/outreach?${qs}`, { token: me.token });
      expectInvalid(res, path);
    });

    it("answers 404 for another user's row and for a missing one, 400 for a non-integer id", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.row(other.id);
      await ox.outreachEvent(theirs.id, (await fx.seller()).id);
      for (const id of [theirs.id, 987654321]) {
        const res = await call("GET", `/api/rows/${id}/outreach`, { token: me.token });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: { code: "not_found", message: "row not found" } });
      }
      const bad = await call("GET", "/api/rows/abc/outreach", { token: me.token });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].path).toBe("path.row_id");
      expect((await call("GET", `/api/rows/${theirs.id}/outreach`, { token: other.token })).body.items).toHaveLength(1);
    });

    it("pages through every event exactly once, ties on created_at broken by id", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const s = await fx.seller();
      await ox.manyOutreachEvents(r.id, s.id, 47);
      const { items, pages } = await fx.allPages<{ id: number }>(async (cursor) => {
        const res = await call("GET", `/api/rows/${r.id}/outreach?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        return res.body;
      });
      expect(pages).toBe(5);
      const ids = items.map((e) => e.id);
      expect(new Set(ids).size).toBe(47);
      const expected = await Database.use((db) =>
        db
          .selectFrom("outreach_event")
          .select("id")
          .where("row_id", "=", r.id)
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .execute(),
      );
      expect(ids).toEqual(expected.map((e) => e.id));
    });

    it("pages through a status filter without duplicates or gaps", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const s = await fx.seller();
      await ox.manyOutreachEvents(r.id, s.id, 47);
      const { items, pages } = await fx.allPages<{ id: number; status: string }>(async (cursor) => {
        const res = await call("GET", `/api/rows/${r.id}/outreach?status=sent&limit=4${cursor ? `&cursor=${cursor}` : ""}`, {
          token: me.token,
        });
        expect(res.status).toBe(200);
        return res.body;
      });
      const expected = await Database.use((db) =>
        db
          .selectFrom("outreach_event")
          .select("id")
          .where("row_id", "=", r.id)
          .where("status", "=", "sent")
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .execute(),
      );
      expect(expected).toHaveLength(16);
      expect(pages).toBe(4);
      expect(items.every((e) => e.status === "sent")).toBe(true);
      expect(items.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    });
  });
});
