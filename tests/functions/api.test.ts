import { describe, expect, it } from "vitest";
import { routes } from "@shop/functions/routes";
import { call, useApiDatabase } from "../support/api.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { targets } from "../support/db.ts";

const logs = captureLogs();

/** A concrete URL for a route: path parameters filled with an id that exists for nobody. */
function concrete(path: string): string {
  return path.replace(/\{[a-z_]+\}/g, (p) => (p === "{token}" ? "sa_nope_nope_nope_nope_nope_nope" : "999999"));
}

const PUBLIC = new Set(["/health/live", "/health/ready", "/openapi.json", "/docs", "/api/share/{token}", "/api/quotes/{token}"]);

describe.each(targets())("the handler wrapper on %s", (target) => {
  useApiDatabase(target);

  describe.each(routes.filter((r) => !PUBLIC.has(r.path)).map((r) => [`${r.method} ${r.path}`, r] as const))(
    "%s",
    (_name, route) => {
      const url = concrete(route.path);

      it("answers 401 with www-authenticate without a token", async () => {
        const res = await call(route.method, url);
        expect(res.status).toBe(401);
        expect(res.headers["www-authenticate"]).toBe("Bearer");
        expect(res.body).toEqual({ error: { code: "unauthorized", message: "a bearer token is required" } });
      });

      it("answers 401 for a malformed, an unknown, a revoked and an expired token", async () => {
        const u = await fx.user();
        const revoked = await fx.sessionFor(u.id);
        await call("POST", "/api/auth/logout", { token: revoked.token });
        const expired = await fx.sessionFor(u.id, { days: -1 });
        const tokens = ["not-a-token", "sa_" + "x".repeat(43), revoked.token, expired.token];
        for (const token of tokens) {
          const res = await call(route.method, url, { token });
          expect(res.status, token).toBe(401);
          expect(res.body.error.code).toBe("unauthorized");
        }
        const basic = await call(route.method, url, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
        expect(basic.status).toBe(401);
      });
    },
  );

  it("answers unknown paths and methods with the contract's 404", async () => {
    for (const [method, url] of [
      ["GET", "/nope"],
      ["DELETE", "/api/me"],
      ["PUT", "/api/rows"],
    ] as const) {
      const res = await call(method, url);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: "no such route" } });
      expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    }
  });

  it("gives every response an x-request-id, the API Gateway request id", async () => {
    const res = await call("GET", "/health/live");
    expect(res.headers["x-request-id"]).toBe(res.event.requestContext.requestId);
    const missing = await call("GET", "/api/rows");
    expect(missing.headers["x-request-id"]).toBe(missing.event.requestContext.requestId);
  });

  it("refuses bodies over 1 MiB with 413 before reading them", async () => {
    const u = await fx.user();
    const res = await call("POST", "/api/rows", { token: u.token, rawBody: JSON.stringify({ title: "x".repeat(1024 * 1024) }) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("answers malformed JSON with 400 invalid_request", async () => {
    const u = await fx.user();
    const res = await call("POST", "/api/rows", { token: u.token, rawBody: '{"title": "desk",' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_request", message: "the request body is not valid JSON", details: [{ path: "body", message: "must be one JSON value" }] },
    });
  });

  it("checks the token before the body: an anonymous bad request is a 401", async () => {
    const res = await call("POST", "/api/rows", { rawBody: "{" });
    expect(res.status).toBe(401);
  });

  it("logs one structured line per request with route, status, duration and query count", async () => {
    const u = await fx.user();
    logs.length = 0;
    const res = await call("GET", "/api/rows", { token: u.token });
    expect(res.status).toBe(200);
    const lines = logs.filter((l) => l.entry.msg === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.entry).toMatchObject({
      level: "info",
      request_id: res.headers["x-request-id"],
      method: "GET",
      route: "GET /api/rows",
      path: "/api/rows",
      status: 200,
      user_id: u.id,
      queries: 1,
    });
    expect(lines[0]!.entry.duration_ms).toBeTypeOf("number");
  });

  it("never puts a stack, SQL or driver text in a 500 body, and logs it with the request id", async () => {
    const u = await fx.user();
    // A row whose stored JSON is fine but whose status the schema cannot map cannot exist (CHECK),
    // so break the database instead: drop a column the list query needs, inside this test's database.
    const { Database } = await import("@shop/core/db");
    const { sql } = await import("kysely");
    await Database.use((db) => sql`alter table "row" rename column outreach_status to outreach_status_gone`.execute(db));
    try {
      logs.length = 0;
      const res = await call("GET", "/api/rows", { token: u.token });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: "internal", message: "internal error" } });
      const line = logs.find((l) => l.entry.msg === "request")!;
      expect(line.level).toBe("error");
      expect(line.entry.request_id).toBe(res.headers["x-request-id"]);
      expect(String(line.entry.error)).toMatch(/outreach_status/);
    } finally {
      await Database.use((db) => sql`alter table "row" rename column outreach_status_gone to outreach_status`.execute(db));
    }
  });
});
