import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { call, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";

const logs = captureLogs();

describe.each(targets())("sessions on %s", (target) => {
  useApiDatabase(target);

  it("GET /api/me answers who the token belongs to, in one query", async () => {
    const admin = await fx.user({ admin: true, email: "Boss@Example.com" });
    const res = await call("GET", "/api/me", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: admin.id, email: "Boss@Example.com", name: "Test User", is_admin: true });
    expect(lastQueryCount(logs)).toBe(1);
  });

  it("touches last_seen_at on use, at most once a minute", async () => {
    const u = await fx.user();
    const seen = () =>
      Database.use((db) =>
        db.selectFrom("auth_session").select("last_seen_at").where("id", "=", u.sessionId).executeTakeFirstOrThrow(),
      );
    expect((await seen()).last_seen_at).toBeNull();
    await call("GET", "/api/me", { token: u.token });
    const first = (await seen()).last_seen_at;
    expect(first).toBeInstanceOf(Date);
    await call("GET", "/api/me", { token: u.token });
    expect((await seen()).last_seen_at).toEqual(first);
  });

  it("POST /api/auth/logout revokes only the calling session and writes an audit row", async () => {
    const u = await fx.user();
    const other = await fx.sessionFor(u.id);
    const res = await call("POST", "/api/auth/logout", { token: u.token });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(lastQueryCount(logs)).toBe(2); // the session check; the revoke with its audit row
    expect((await call("GET", "/api/me", { token: u.token })).status).toBe(401);
    expect((await call("GET", "/api/me", { token: other.token })).status).toBe(200);
    const audit = await Database.use((db) =>
      db.selectFrom("audit_log").selectAll().where("user_id", "=", u.id).where("action", "=", "session.logout").execute(),
    );
    expect(audit).toEqual([
      expect.objectContaining({
        success: true,
        resource_type: "auth_session",
        resource_id: String(u.sessionId),
        request_id: res.headers["x-request-id"],
      }),
    ]);
  });

  it("matches emails case-insensitively: one user per address", async () => {
    const a = await fx.user({ email: "Same@Example.com" });
    const b = await fx.user({ email: "same@example.COM" });
    expect(b.id).toBe(a.id);
  });
});
