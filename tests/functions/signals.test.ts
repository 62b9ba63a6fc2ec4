import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { MAX_JSON_DEPTH as MAX_PAYLOAD_DEPTH } from "@shop/core/json";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import * as cx from "../support/commerce-fixtures.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

/** A JSON value nested `depth` arrays deep. */
function nested(depth: number): unknown {
  let value: unknown = "core";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe.each(targets())("signals on %s", (target) => {
  useApiDatabase(target);

  describe("POST /api/signals", () => {
    it("records a signal with its payload stored as JSON text and answered parsed", async () => {
      const me = await fx.user();
      const payload = { brand: "oakandiron", max: 700, tags: ["walnut", null, true], price: "19.99" };
      const res = await call("POST", "/api/signals", { token: me.token, body: { signal_type: "prefers_brand", payload } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        user_id: me.id,
        signal_type: "prefers_brand",
        payload,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect(lastQueryCount(logs)).toBe(2); // the session check, then the insert
      const stored = await Database.use((db) =>
        db.selectFrom("user_signal").select("payload").where("id", "=", res.body.id).executeTakeFirstOrThrow(),
      );
      expect(JSON.parse(stored.payload)).toEqual(payload);
    });

    it("defaults the payload to {} and keeps any other JSON value as sent", async () => {
      const me = await fx.user();
      const none = await call("POST", "/api/signals", { token: me.token, body: { signal_type: "opened_app" } });
      expect(none.status).toBe(201);
      expect(none.body.payload).toEqual({});
      for (const payload of [null, 0, "budget", false, [1, "two"], nested(MAX_PAYLOAD_DEPTH)]) {
        const res = await call("POST", "/api/signals", { token: me.token, body: { signal_type: "misc", payload } });
        expect(res.status, JSON.stringify(payload)).toBe(201);
        expect(res.body.payload).toEqual(payload);
      }
    });

    it.each([
      [{}, "body.signal_type"],
      [{ signal_type: "" }, "body.signal_type"],
      [{ signal_type: "   " }, "body.signal_type"],
      [{ signal_type: "x".repeat(101) }, "body.signal_type"],
      [{ signal_type: 42 }, "body.signal_type"],
      [{ signal_type: "deep", payload: nested(MAX_PAYLOAD_DEPTH + 2) }, "body.payload"],
      [{ signal_type: "viewed", user_id: 1 }, "body"],
      [null, "body"],
      ["viewed", "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const me = await fx.user();
      const res = await call("POST", "/api/signals", { token: me.token, body });
      expectInvalid(res, path);
    });

    it("refuses a payload nested far too deep to serialize with 400, not 500", async () => {
      const me = await fx.user();
      const depth = 100_000;
      const res = await call("POST", "/api/signals", {
        token: me.token,
        rawBody: `{"signal_type":"deep","payload":${"[".repeat(depth)}${"]".repeat(depth)}}`,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path: "body.payload" }));
    });

    it("accepts a signal_type of 100 characters", async () => {
      const me = await fx.user();
      const res = await call("POST", "/api/signals", { token: me.token, body: { signal_type: "s".repeat(100) } });
      expect(res.status).toBe(201);
    });
  });

  describe("GET /api/signals", () => {
    it("lists only the caller's signals, newest first", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const first = await call("POST", "/api/signals", { token: me.token, body: { signal_type: "a", payload: { n: 1 } } });
      const second = await call("POST", "/api/signals", { token: me.token, body: { signal_type: "b" } });
      await call("POST", "/api/signals", { token: other.token, body: { signal_type: "a" } });
      const res = await call("GET", "/api/signals", { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [second.body, first.body], next_cursor: null });
      expect(lastQueryCount(logs)).toBe(2); // the session check, then the page
    });

    it("filters by signal_type", async () => {
      const me = await fx.user();
      await cx.signals(me.id, 3, "budget_hint");
      await cx.signals(me.id, 2, "prefers_brand");
      const res = await call("GET", "/api/signals?signal_type=budget_hint", { token: me.token });
      expect(res.body.items).toHaveLength(3);
      expect(res.body.items.every((s: { signal_type: string }) => s.signal_type === "budget_hint")).toBe(true);
      expect((await call("GET", "/api/signals?signal_type=nothing", { token: me.token })).body.items).toEqual([]);
    });

    it("serves {} for a corrupt stored payload and logs a warning naming the field", async () => {
      const me = await fx.user();
      await Database.use((db) => db.insertInto("user_signal").values({ user_id: me.id, signal_type: "x", payload: "{oops" }).execute());
      const res = await call("GET", "/api/signals", { token: me.token });
      expect(res.status).toBe(200);
      expect(res.body.items[0].payload).toEqual({});
      expect(logs.filter((l) => l.level === "warn").map((l) => l.entry.field)).toContain("payload");
    });

    it.each([
      ["signal_type=", "query.signal_type"],
      [`signal_type=${"t".repeat(101)}`, "query.signal_type"],
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["cursor=not-a-cursor", "query.cursor"],
    ])("answers 400 for ?%s", async (qs, path) => {
      const me = await fx.user();
      const res = await call("GET", `/api/signals?${qs}`, { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ path }));
    });

    it("pages through every signal exactly once, ties on created_at broken by id", async () => {
      const me = await fx.user();
      const other = await fx.user();
      await cx.signals(me.id, 47);
      await cx.signals(other.id, 5);
      const { items, pages } = await fx.allPages<{ id: number; user_id: number }>(async (cursor) => {
        const res = await call("GET", `/api/signals?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: me.token });
        expect(res.status).toBe(200);
        return res.body;
      });
      expect(pages).toBe(5);
      const ids = items.map((s) => s.id);
      expect(new Set(ids).size).toBe(47);
      expect(items.every((s) => s.user_id === me.id)).toBe(true);
      const expected = await Database.use((db) =>
        db.selectFrom("user_signal").select("id").where("user_id", "=", me.id).orderBy("created_at", "desc").orderBy("id", "desc").execute(),
      );
      expect(ids).toEqual(expected.map((s) => s.id));
    });
  });
});
