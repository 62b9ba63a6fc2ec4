import { describe, expect, it } from "vitest";
import { handlerFor } from "@shop/core/clickout";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import * as cx from "../support/commerce-fixtures.ts";
import { serverTargets, targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

function storedClickouts(userId: number) {
  return Database.use((db) =>
    db
      .selectFrom("clickout_event")
      .select(["id", "user_id", "row_id", "bid_id", "url", "handler", "is_suspicious"])
      .where("user_id", "=", userId)
      .orderBy("id")
      .execute(),
  );
}

describe.each(targets())("clickouts on %s", (target) => {
  useApiDatabase(target);

  describe("POST /api/clickouts", () => {
    it("records the clickout and answers the bid's URL, its handler and a clean verdict, in one statement", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id, { url: "https://www.amazon.com/dp/B000DESK" });
      const res = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(Number),
        redirect_url: "https://www.amazon.com/dp/B000DESK",
        handler: "amazon",
        is_suspicious: false,
      });
      expect(lastQueryCount(logs)).toBe(2); // the session check, then the insert
      expect(await storedClickouts(me.id)).toEqual([
        {
          id: res.body.id,
          user_id: me.id,
          row_id: r.id,
          bid_id: b.id,
          url: "https://www.amazon.com/dp/B000DESK",
          handler: "amazon",
          is_suspicious: false,
        },
      ]);
    });

    it("classifies every URL of the handler table exactly as handlerFor does", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      for (const [url, expected] of cx.HANDLER_CASES) {
        const b = await fx.bid(r.id, { url });
        const res = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } });
        expect(res.status, url).toBe(201);
        expect(res.body.redirect_url).toBe(url);
        expect(res.body.handler, url).toBe(expected);
        expect(res.body.handler, url).toBe(handlerFor(url));
      }
    });

    it("flags the 11th and later clickouts within 60 seconds as suspicious, not the first 10", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      const verdicts: boolean[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } });
        expect(res.status).toBe(201);
        verdicts.push(res.body.is_suspicious);
      }
      expect(verdicts).toEqual([...Array<boolean>(10).fill(false), true, true]);
      expect((await storedClickouts(me.id)).map((c) => c.is_suspicious)).toEqual(verdicts);
    });

    it("counts clickouts recorded directly the same way, and only those inside the window", async () => {
      const me = await fx.user();
      const r = await fx.row(me.id);
      const b = await fx.bid(r.id);
      await cx.clickouts(me.id, 10, 90);
      const calm = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } });
      expect(calm.body.is_suspicious).toBe(false);
      await cx.clickouts(me.id, 9, 30);
      const burst = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } });
      expect(burst.body.is_suspicious).toBe(true);
    });

    it("does not count other users' clickouts against the caller", async () => {
      const me = await fx.user();
      const other = await fx.user();
      await cx.clickouts(other.id, 25, 5);
      const b = await fx.bid((await fx.row(me.id)).id);
      const res = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } });
      expect(res.body.is_suspicious).toBe(false);
    });

    it.each([
      [{}, "body.bid_id"],
      [{ bid_id: "1" }, "body.bid_id"],
      [{ bid_id: 0 }, "body.bid_id"],
      [{ bid_id: -4 }, "body.bid_id"],
      [{ bid_id: 1.5 }, "body.bid_id"],
      [{ bid_id: 2 ** 53 }, "body.bid_id"],
      [{ bid_id: 1, url: "https://evil.example" }, "body"],
      [null, "body"],
      [[1], "body"],
    ])("answers 400 for %j with a detail at %s", async (body, path) => {
      const me = await fx.user();
      const res = await call("POST", "/api/clickouts", { token: me.token, body });
      expectInvalid(res, path);
    });

    it("answers 400 for a missing body", async () => {
      const me = await fx.user();
      const res = await call("POST", "/api/clickouts", { token: me.token });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: "body", message: expect.any(String) }]);
    });

    it("answers 404 for another user's bid and for a missing one, and records nothing", async () => {
      const me = await fx.user();
      const other = await fx.user();
      const theirs = await fx.bid((await fx.row(other.id)).id);
      const res = await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: theirs.id } });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: "bid not found" } });
      expect((await call("POST", "/api/clickouts", { token: me.token, body: { bid_id: 987654321 } })).status).toBe(404);
      expect(await storedClickouts(me.id)).toEqual([]);
      expect(await storedClickouts(other.id)).toEqual([]);
    });
  });
});

// PGlite is one session, so its requests never overlap: only a server can race.
describe.each(serverTargets())("concurrent clickouts on %s", (target) => {
  useApiDatabase(target);

  it("judges 30 clickouts sent at once one after another: exactly the 11th to the 30th are suspicious", async () => {
    const me = await fx.user();
    const b = await fx.bid((await fx.row(me.id)).id);
    const results = await Promise.all(
      Array.from({ length: 30 }, () => call("POST", "/api/clickouts", { token: me.token, body: { bid_id: b.id } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(201));
    expect(results.filter((r) => r.body.is_suspicious)).toHaveLength(20);
  });
});
