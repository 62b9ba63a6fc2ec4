import { sql } from "kysely";
import type * as z from "zod";
import { Database } from "@shop/core/db";
import { routeKey, routes, type Route } from "@shop/functions/routes";
import type { Auth } from "@shop/functions/lib/api";
import { call } from "./api.ts";
import * as fx from "./fixtures.ts";
import { quote } from "./outreach-fixtures.ts";

/**
 * What the generated suites (bad input, fuzz, authorization) need of every
 * route: its spec as the handler wrapper holds it, a world of resources with
 * an owner, and a request the owner may make.
 */

export interface RouteSpec {
  auth: Auth;
  path?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  headers?: z.ZodType;
}

/** The spec `api()` attached to a route's handler. */
export async function specOf(route: Route): Promise<RouteSpec> {
  const url = new URL(`../../packages/functions/src/${route.file}.ts`, import.meta.url).href;
  const mod = (await import(/* @vite-ignore */ url)) as { handler: { spec: RouteSpec } };
  return mod.handler.spec;
}

/** A shopper's row with a seller's bid, a comment, a share link and a pending quote, plus another user and an admin. */
export interface World {
  owner: fx.TestUser;
  other: fx.TestUser;
  admin: fx.TestUser;
  rowId: number;
  bidId: number;
  sellerId: number;
  shareToken: string;
  quoteToken: string;
}

export async function world(): Promise<World> {
  const [owner, other, admin] = [await fx.user(), await fx.user(), await fx.user({ admin: true })];
  const seller = await fx.seller();
  const row = await fx.row(owner.id);
  const bid = await fx.bid(row.id, { sellerId: seller.id });
  const share = await call("POST", "/api/share-links", { token: owner.token, body: { resource_type: "row", resource_id: row.id } });
  const q = await quote(row.id, seller.id);
  return { owner, other, admin, rowId: row.id, bidId: bid.id, sellerId: seller.id, shareToken: share.body.token, quoteToken: q.token };
}

export interface RouteRequest {
  url: string;
  body?: Record<string, unknown>;
}

/** A request on `w`'s resources that its owner may make, for every route (a test checks none is missing). */
export const validRequests: Record<string, (w: World) => RouteRequest> = {
  "GET /health/live": () => ({ url: "/health/live" }),
  "GET /health/ready": () => ({ url: "/health/ready" }),
  "GET /openapi.json": () => ({ url: "/openapi.json" }),
  "GET /docs": () => ({ url: "/docs" }),
  "GET /api/me": () => ({ url: "/api/me" }),
  "POST /api/auth/logout": () => ({ url: "/api/auth/logout" }),
  "GET /api/rows": () => ({ url: "/api/rows" }),
  "POST /api/rows": () => ({ url: "/api/rows", body: { title: "a desk", choice_factors: ["oak"] } }),
  "GET /api/rows/{row_id}": (w) => ({ url: `/api/rows/${w.rowId}` }),
  "PATCH /api/rows/{row_id}": (w) => ({ url: `/api/rows/${w.rowId}`, body: { title: "a desk", chat_history: [] } }),
  "DELETE /api/rows/{row_id}": (w) => ({ url: `/api/rows/${w.rowId}` }),
  "GET /api/rows/{row_id}/bids": (w) => ({ url: `/api/rows/${w.rowId}/bids` }),
  "POST /api/rows/{row_id}/bids/{bid_id}/select": (w) => ({ url: `/api/rows/${w.rowId}/bids/${w.bidId}/select` }),
  "PATCH /api/bids/{bid_id}": (w) => ({ url: `/api/bids/${w.bidId}`, body: { is_liked: true } }),
  "GET /api/sellers/{seller_id}/bids": (w) => ({ url: `/api/sellers/${w.sellerId}/bids` }),
  "GET /api/rows/{row_id}/comments": (w) => ({ url: `/api/rows/${w.rowId}/comments` }),
  "POST /api/rows/{row_id}/comments": (w) => ({ url: `/api/rows/${w.rowId}/comments`, body: { body: "nice", bid_id: w.bidId } }),
  "POST /api/clickouts": (w) => ({ url: "/api/clickouts", body: { bid_id: w.bidId } }),
  "POST /api/purchases": (w) => ({ url: "/api/purchases", body: { bid_id: w.bidId } }),
  "GET /api/purchases": () => ({ url: "/api/purchases" }),
  "POST /api/share-links": (w) => ({ url: "/api/share-links", body: { resource_type: "row", resource_id: w.rowId } }),
  "GET /api/share/{token}": (w) => ({ url: `/api/share/${w.shareToken}` }),
  "GET /api/rows/{row_id}/outreach": (w) => ({ url: `/api/rows/${w.rowId}/outreach` }),
  "GET /api/quotes/{token}": (w) => ({ url: `/api/quotes/${w.quoteToken}` }),
  "POST /api/quotes/{token}": (w) => ({
    url: `/api/quotes/${w.quoteToken}`,
    body: { price: "10.00", currency: "USD", title: "a desk", url: "https://seller.example/desk" },
  }),
  "POST /api/signals": () => ({ url: "/api/signals", body: { signal_type: "likes", payload: { brand: "oak" } } }),
  "GET /api/signals": () => ({ url: "/api/signals" }),
  "GET /api/admin/stats": () => ({ url: "/api/admin/stats" }),
  "GET /api/admin/clickouts": () => ({ url: "/api/admin/clickouts" }),
  "GET /api/admin/audit-log": () => ({ url: "/api/admin/audit-log" }),
  "GET /api/admin/merchants": () => ({ url: "/api/admin/merchants" }),
  "GET /api/admin/db/{report}": () => ({ url: "/api/admin/db/table-sizes" }),
};

/** Every route of the table with its key. */
export const routeEntries = routes.map((r) => [routeKey(r), r] as const);

/**
 * Every table's rows, as one string: equal before and after means nothing was written.
 * Sessions' last_seen_at is left out: authenticating touches it (at most once a minute) by design.
 */
export async function checksum(): Promise<string> {
  return Database.use(async (db) => {
    const { rows: tables } = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%' order by 1`.execute(db);
    const parts: string[] = [];
    for (const { name } of tables) {
      const { rows } = await sql<{ n: string; sum: string | null }>`
        select count(*)::text as n, md5(string_agg(j, ',' order by j)) as sum
        from (select (to_jsonb(t) - 'last_seen_at')::text as j from ${sql.table(name)} t) s`.execute(db);
      parts.push(`${name}:${rows[0]!.n}:${rows[0]!.sum ?? ""}`);
    }
    return parts.join(" ");
  });
}
