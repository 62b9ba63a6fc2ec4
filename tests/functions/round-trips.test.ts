import { describe, expect, it } from "vitest";
import { routeKey, routes } from "@shop/functions/routes";
import { call, useApiDatabase } from "../support/api.ts";
import { comment, tiedComments } from "../support/bid-fixtures.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs, lastQueryCount } from "../support/logs.ts";
import { manyOutreachEvents, quote } from "../support/outreach-fixtures.ts";

const logs = captureLogs();

/**
 * Database round trips per request, counted at the driver (every statement the
 * request's scope sends, BEGIN and COMMIT included), for every route of the
 * table: at most 2 anywhere (the database reports: see MORE), exactly 1 for the
 * hot reads, whose session check is part of their one statement, and the same
 * with 1 bid or 80.
 */
const HOT = new Set(["GET /api/rows", "GET /api/rows/{row_id}", "GET /api/rows/{row_id}/bids", "GET /api/me"]);

interface World {
  token: string;
  adminToken: string;
  rowId: number;
  bidId: number;
  sellerId: number;
  shareToken: string;
  quoteToken: string;
}

/** A request that succeeds for each route, given a world with `bids` bids (and as many comments and outreach events). */
const REQUESTS: Record<string, (w: World) => [url: string, body?: unknown, headers?: Record<string, string>]> = {
  "GET /health/live": () => ["/health/live"],
  "GET /health/ready": () => ["/health/ready"],
  "GET /openapi.json": () => ["/openapi.json"],
  "GET /docs": () => ["/docs"],
  "GET /api/me": () => ["/api/me"],
  "POST /api/auth/logout": () => ["/api/auth/logout"],
  "GET /api/rows": () => ["/api/rows?limit=100"],
  "POST /api/rows": () => ["/api/rows", { title: "a new request" }],
  "GET /api/rows/{row_id}": (w) => [`/api/rows/${w.rowId}`],
  "PATCH /api/rows/{row_id}": (w) => [`/api/rows/${w.rowId}`, { title: "renamed" }],
  "DELETE /api/rows/{row_id}": (w) => [`/api/rows/${w.rowId}`],
  "GET /api/rows/{row_id}/bids": (w) => [`/api/rows/${w.rowId}/bids?limit=100`],
  "POST /api/rows/{row_id}/bids/{bid_id}/select": (w) => [`/api/rows/${w.rowId}/bids/${w.bidId}/select`],
  "PATCH /api/bids/{bid_id}": (w) => [`/api/bids/${w.bidId}`, { is_liked: true }],
  "GET /api/sellers/{seller_id}/bids": (w) => [`/api/sellers/${w.sellerId}/bids?limit=100`],
  "GET /api/rows/{row_id}/comments": (w) => [`/api/rows/${w.rowId}/comments?limit=100`],
  "POST /api/rows/{row_id}/comments": (w) => [`/api/rows/${w.rowId}/comments`, { body: "hi", bid_id: w.bidId }],
  "POST /api/clickouts": (w) => ["/api/clickouts", { bid_id: w.bidId }],
  "POST /api/purchases": (w) => ["/api/purchases", { bid_id: w.bidId }, { "idempotency-key": "once" }],
  "GET /api/purchases": () => ["/api/purchases"],
  "POST /api/share-links": (w) => ["/api/share-links", { resource_type: "row", resource_id: w.rowId }],
  "GET /api/share/{token}": (w) => [`/api/share/${w.shareToken}`],
  "GET /api/rows/{row_id}/outreach": (w) => [`/api/rows/${w.rowId}/outreach?limit=100`],
  "GET /api/quotes/{token}": (w) => [`/api/quotes/${w.quoteToken}`],
  "POST /api/quotes/{token}": (w) => [`/api/quotes/${w.quoteToken}`, { price: "10.00", currency: "USD", title: "t", url: "https://s.example/x" }],
  "POST /api/signals": () => ["/api/signals", { signal_type: "viewed", payload: { a: 1 } }],
  "GET /api/signals": () => ["/api/signals"],
  "GET /api/admin/stats": () => ["/api/admin/stats"],
  "GET /api/admin/clickouts": () => ["/api/admin/clickouts?suspicious=false"],
  "GET /api/admin/audit-log": () => ["/api/admin/audit-log?action=share_link.create"],
  "GET /api/admin/merchants": () => ["/api/admin/merchants?status=active"],
  "GET /api/admin/db/{report}": () => ["/api/admin/db/unused-indexes"],
};

/** Routes allowed more than 2, and why. */
const MORE: Record<string, number> = {
  // A diagnostic, not a product read: the session check, the report's catalog queries (here two), its audit row.
  "GET /api/admin/db/{report}": 4,
};

async function world(bids: number): Promise<World> {
  const me = await fx.user();
  const seller = await fx.seller();
  const row = await fx.row(me.id);
  const bid = await fx.bid(row.id, { sellerId: seller.id });
  if (bids > 1) await fx.manyBids(row.id, bids - 1, seller.id);
  await tiedComments(row.id, me.id, bids);
  await comment(row.id, me.id, { bidId: bid.id });
  await manyOutreachEvents(row.id, seller.id, bids);
  const share = await call("POST", "/api/share-links", { token: me.token, body: { resource_type: "row", resource_id: row.id } });
  const q = await quote(row.id, seller.id);
  const admin = await fx.user({ admin: true });
  return { token: me.token, adminToken: admin.token, rowId: row.id, bidId: bid.id, sellerId: seller.id, shareToken: share.body.token, quoteToken: q.token };
}

async function roundTrips(key: string, w: World): Promise<number> {
  const [method] = key.split(" ") as [string];
  const [url, body, headers] = REQUESTS[key]!(w);
  const token = key.includes("/api/admin/") ? w.adminToken : w.token;
  const res = await call(method, url, { token, ...(body ? { body } : {}), ...(headers ? { headers } : {}) });
  expect(res.status, `${key}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return lastQueryCount(logs);
}

describe.each(targets())("round trips per request on %s", (target) => {
  useApiDatabase(target);

  it("has a request for every route of the table", () => {
    expect(Object.keys(REQUESTS).sort()).toEqual(routes.map(routeKey).sort());
  });

  it.each(routes.map(routeKey))("%s: at most 2 (or its MORE), exactly 1 for a hot read, whatever the data", async (key) => {
    const few = await roundTrips(key, await world(1));
    const many = await roundTrips(key, await world(80));
    expect(many, "the same with 80 bids, comments and outreach events as with 1").toBe(few);
    if (HOT.has(key)) expect(few).toBe(1);
    else expect(few).toBeLessThanOrEqual(MORE[key] ?? 2);
  });
});
