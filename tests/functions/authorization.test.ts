import { describe, expect, it } from "vitest";
import { call, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { routeEntries, validRequests, world, type World } from "../support/requests.ts";

captureLogs();

type Caller = "anonymous" | "malformed" | "revoked" | "expired" | "owner" | "other" | "admin";
const CALLERS: Caller[] = ["anonymous", "malformed", "revoked", "expired", "owner", "other", "admin"];

/**
 * THE table: what each caller gets from each route, making the owner's own request on a fresh
 * world. `public` routes answer every caller as their owner; the others answer 401 to anonymous,
 * malformed, revoked and expired tokens. `other` is a second user, `admin` an admin who does not
 * own the resources: another user's resource is a 404, never a 403 that would confirm it exists.
 */
const EXPECTED: Record<string, { owner: number; other: number; admin: number; public?: true }> = {
  "GET /health/live": { owner: 200, other: 200, admin: 200, public: true },
  "GET /health/ready": { owner: 200, other: 200, admin: 200, public: true },
  "GET /openapi.json": { owner: 200, other: 200, admin: 200, public: true },
  "GET /docs": { owner: 200, other: 200, admin: 200, public: true },
  "GET /api/me": { owner: 200, other: 200, admin: 200 },
  "POST /api/auth/logout": { owner: 204, other: 204, admin: 204 },
  "GET /api/rows": { owner: 200, other: 200, admin: 200 },
  "POST /api/rows": { owner: 201, other: 201, admin: 201 },
  "GET /api/rows/{row_id}": { owner: 200, other: 404, admin: 404 },
  "PATCH /api/rows/{row_id}": { owner: 200, other: 404, admin: 404 },
  "DELETE /api/rows/{row_id}": { owner: 204, other: 404, admin: 404 },
  "GET /api/rows/{row_id}/bids": { owner: 200, other: 404, admin: 404 },
  "POST /api/rows/{row_id}/bids/{bid_id}/select": { owner: 200, other: 404, admin: 404 },
  "PATCH /api/bids/{bid_id}": { owner: 200, other: 404, admin: 404 },
  // The seller's bids on the caller's rows (none for another user), on every row for an admin.
  "GET /api/sellers/{seller_id}/bids": { owner: 200, other: 200, admin: 200 },
  "GET /api/rows/{row_id}/comments": { owner: 200, other: 404, admin: 404 },
  "POST /api/rows/{row_id}/comments": { owner: 201, other: 404, admin: 404 },
  "POST /api/clickouts": { owner: 201, other: 404, admin: 404 },
  "POST /api/purchases": { owner: 201, other: 404, admin: 404 },
  "GET /api/purchases": { owner: 200, other: 200, admin: 200 },
  "POST /api/share-links": { owner: 201, other: 404, admin: 404 },
  "GET /api/share/{token}": { owner: 200, other: 200, admin: 200, public: true },
  "GET /api/rows/{row_id}/outreach": { owner: 200, other: 404, admin: 404 },
  "GET /api/quotes/{token}": { owner: 200, other: 200, admin: 200, public: true },
  "POST /api/quotes/{token}": { owner: 201, other: 201, admin: 201, public: true },
  "POST /api/signals": { owner: 201, other: 201, admin: 201 },
  "GET /api/signals": { owner: 200, other: 200, admin: 200 },
  "GET /api/admin/stats": { owner: 403, other: 403, admin: 200 },
  "GET /api/admin/clickouts": { owner: 403, other: 403, admin: 200 },
  "GET /api/admin/audit-log": { owner: 403, other: 403, admin: 200 },
  "GET /api/admin/merchants": { owner: 403, other: 403, admin: 200 },
  "GET /api/admin/db/{report}": { owner: 403, other: 403, admin: 200 },
};

function expected(key: string, caller: Caller): number {
  const row = EXPECTED[key]!;
  if (caller === "owner" || caller === "other" || caller === "admin") return row[caller];
  return row.public ? row.owner : 401;
}

describe.each(targets())("authorization on %s", (target) => {
  useApiDatabase(target);

  it("has one expectation for every route of the table, and a request for each", () => {
    const keys = routeEntries.map(([key]) => key).sort();
    expect(Object.keys(EXPECTED).sort()).toEqual(keys);
    expect(Object.keys(validRequests).sort()).toEqual(keys);
  });

  it("answers every route x every caller as the table says", async () => {
    const u = await fx.user();
    const revoked = await fx.sessionFor(u.id);
    expect((await call("POST", "/api/auth/logout", { token: revoked.token })).status).toBe(204);
    const expired = await fx.sessionFor(u.id, { days: -1 });
    const tokenOf = (caller: Caller, w: World): string | undefined =>
      ({
        anonymous: undefined,
        malformed: "sa_not-a-token",
        revoked: revoked.token,
        expired: expired.token,
        owner: w.owner.token,
        other: w.other.token,
        admin: w.admin.token,
      })[caller];
    const got: string[] = [];
    const want: string[] = [];
    let w = await world();
    for (const [key, route] of routeEntries) {
      for (const caller of CALLERS) {
        const req = validRequests[key]!(w);
        const token = tokenOf(caller, w);
        const res = await call(route.method, req.url, { ...(token ? { token } : {}), ...(req.body ? { body: req.body } : {}) });
        got.push(`${key} as ${caller}: ${res.status}`);
        want.push(`${key} as ${caller}: ${expected(key, caller)}`);
        // A write that went through gets the next caller a fresh world: a DELETE or a submitted quote must not decide its answer.
        if (route.method !== "GET" && res.status < 300) w = await world();
      }
    }
    expect(got).toEqual(want);
  });
});
