import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Database } from "@shop/core/db";
import * as Session from "@shop/core/session";
import * as Sweep from "@shop/core/sweep";
import * as User from "@shop/core/user";
import { catalog } from "@shop/migrations/migrations/index";
import { activeTokens, generate, type PlanOptions } from "../../bench/datagen/index.ts";
import { call } from "../support/api.ts";
import { createTestDatabase, serverTargets, type TestDatabase } from "../support/db.ts";
import { captureLogs } from "../support/logs.ts";
import { explain, indexesUsed, problems, tableSizes, type PlanNode, type Statement } from "../support/plans.ts";

captureLogs();

/**
 * The EXPLAIN suite: every statement every route runs, captured at the driver
 * while the routes answer heavy and light users on a generated dataset big
 * enough for the planner to behave as in production (after ANALYZE), then
 * explained with its own parameters. No big table is read whole, no list sorts
 * more than a page, and every index of the catalog serves some query or says
 * here why it exists anyway.
 */

const DAY = 86_400_000;
const dataset: PlanOptions = { rows: 10_000, bidsPerRow: 50, seed: "explain", now: new Date(Date.now() - (Date.now() % DAY)) };

/** Catalog indexes no route or job reads, and why they stay. */
const NOT_READ_BY_ROUTES: Record<string, string> = {
  ix_row_selected_bid_id: "a deleted bid clears row.selected_bid_id (its foreign key's ON DELETE SET NULL, inside the DELETE)",
};

interface Case {
  name: string;
  method: string;
  url: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

describe.runIf(serverTargets().includes("postgres"))("the EXPLAIN suite", () => {
  let db: TestDatabase;
  let side: pg.Client;
  const statements = new Map<string, Statement & { route: string }>();
  let route = "";

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    await generate({ url: db.url!, ...dataset });
    const app = db.open({ useNullPool: true }, { observe: (sql, parameters) => statements.set(`${sql}\n${JSON.stringify(parameters)}`, { sql, parameters, route }) });
    Database.setDefault(app);
    side = new pg.Client({ connectionString: db.url! });
    await side.connect();
  }, 300_000);

  afterAll(async () => {
    Database.setDefault(null);
    await side?.end();
    await db?.drop();
  });

  async function one<T>(text: string, values: unknown[] = []): Promise<T> {
    return (await side.query(text, values)).rows[0] as T;
  }

  /** Requests of every route for one user, with that user's own data as parameters. */
  async function casesFor(kind: "heavy" | "light", token: string, userId: number): Promise<Case[]> {
    const row = await one<{ id: number }>(
      "select r.id::int as id from row r left join bid b on b.row_id = r.id where r.user_id = $1 group by r.id order by count(b.id) desc, r.id limit 1",
      [userId],
    );
    const bid = await one<{ id: number; seller_id: number | null }>("select id::int as id, seller_id::int as seller_id from bid where row_id = $1 order by id limit 1", [row.id]);
    const seller = await one<{ id: number }>("select seller_id::int as id from bid where seller_id is not null group by seller_id order by count(*) desc limit 1");
    const commented = await one<{ bid_id: number } | undefined>("select bid_id::int as bid_id from comment where row_id = $1 and bid_id is not null limit 1", [row.id]);
    const share = await one<{ token: string }>("select token from share_link where expires_at is null or expires_at > now() limit 1");
    const quote = await one<{ token: string }>(
      "select token from seller_quote where status = 'pending' and token_expires_at > now() order by id offset $1 limit 1",
      [kind === "heavy" ? 0 : 1],
    );
    const cursor = (await call("GET", "/api/rows?limit=1", { token })).body.next_cursor as string | null;
    const bidCursor = (await call("GET", `/api/rows/${row.id}/bids?limit=1`, { token })).body.next_cursor as string | null;
    const u = (name: string, method: string, url: string, extra: Partial<Case> = {}): Case => ({ name: `${kind}: ${name}`, method, url, token, ...extra });
    return [
      u("me", "GET", "/api/me"),
      u("rows", "GET", "/api/rows"),
      ...(cursor ? [u("rows, page 2", "GET", `/api/rows?cursor=${cursor}`)] : []),
      u("rows by status", "GET", "/api/rows?status=reviewing"),
      u("rows by outreach status", "GET", "/api/rows?outreach_status=completed"),
      u("a row", "GET", `/api/rows/${row.id}`),
      u("a row's bids", "GET", `/api/rows/${row.id}/bids`),
      ...(bidCursor ? [u("a row's bids, page 2", "GET", `/api/rows/${row.id}/bids?cursor=${bidCursor}`)] : []),
      u("liked bids", "GET", `/api/rows/${row.id}/bids?liked=true`),
      u("the selected bid", "GET", `/api/rows/${row.id}/bids?selected=true`),
      u("a seller's bids", "GET", `/api/sellers/${seller.id}/bids`),
      u("comments", "GET", `/api/rows/${row.id}/comments`),
      ...(commented ? [u("a bid's comments", "GET", `/api/rows/${row.id}/comments?bid_id=${commented.bid_id}`)] : []),
      u("outreach", "GET", `/api/rows/${row.id}/outreach`),
      u("outreach by status", "GET", `/api/rows/${row.id}/outreach?status=sent`),
      u("purchases", "GET", "/api/purchases"),
      u("purchases by status", "GET", "/api/purchases?status=completed"),
      u("signals", "GET", "/api/signals"),
      u("signals by type", "GET", "/api/signals?signal_type=viewed_bid"),
      u("share view", "GET", `/api/share/${share.token}`),
      u("quote view", "GET", `/api/quotes/${quote.token}`),
      u("new row", "POST", "/api/rows", { body: { title: "a new request" } }),
      u("edit row", "PATCH", `/api/rows/${row.id}`, { body: { title: "renamed" } }),
      u("like", "PATCH", `/api/bids/${bid.id}`, { body: { is_liked: true } }),
      u("select", "POST", `/api/rows/${row.id}/bids/${bid.id}/select`),
      u("comment", "POST", `/api/rows/${row.id}/comments`, { body: { body: "hi", bid_id: bid.id } }),
      u("clickout", "POST", "/api/clickouts", { body: { bid_id: bid.id } }),
      u("purchase", "POST", "/api/purchases", { body: { bid_id: bid.id }, headers: { "idempotency-key": `explain-${kind}` } }),
      u("purchase replay", "POST", "/api/purchases", { body: { bid_id: bid.id }, headers: { "idempotency-key": `explain-${kind}` } }),
      u("share link", "POST", "/api/share-links", { body: { resource_type: "row", resource_id: row.id } }),
      u("signal", "POST", "/api/signals", { body: { signal_type: "viewed_bid", payload: { bid: bid.id } } }),
      u("quote submit", "POST", `/api/quotes/${quote.token}`, { body: { price: "10.00", currency: "USD", title: "t", url: "https://s.example/x" } }),
      ...adminCases(kind),
      u("delete row", "DELETE", `/api/rows/${row.id}`),
      u("logout", "POST", "/api/auth/logout"),
    ];
  }

  let adminToken = "";
  /** The admin routes, once per user kind (the admin's reads do not depend on it). */
  function adminCases(kind: string): Case[] {
    if (kind !== "heavy") return [];
    const a = (name: string, url: string): Case => ({ name: `admin: ${name}`, method: "GET", url, token: adminToken });
    return [
      a("stats", "/api/admin/stats"),
      a("clickouts", "/api/admin/clickouts"),
      a("suspicious clickouts", "/api/admin/clickouts?suspicious=true"),
      a("clickouts by handler", "/api/admin/clickouts?handler=ebay"),
      a("clickouts since", `/api/admin/clickouts?since=${new Date(Date.now() - 7 * DAY).toISOString()}`),
      a("audit log", "/api/admin/audit-log"),
      a("audit log by action", "/api/admin/audit-log?action=row.delete"),
      a("failed actions", "/api/admin/audit-log?success=false"),
      a("merchants", "/api/admin/merchants"),
      a("merchants by status", "/api/admin/merchants?status=active"),
      a("merchants onboarded", "/api/admin/merchants?stripe_onboarding_complete=true"),
    ];
  }

  const plans: Array<{ route: string; sql: string; plan: PlanNode }> = [];

  it("runs every route for a heavy and a light user, and explains every statement they send", async () => {
    const [heavy, light] = [activeTokens(dataset, 2).find((t) => t.kind === "heavy")!, activeTokens(dataset, 2).find((t) => t.kind === "light")!];
    expect(heavy.rows).toBeGreaterThan(50);
    const admin = await User.ensure({ email: "explain-admin@example.com", isAdmin: true });
    adminToken = (await Session.create(admin.id)).token;
    const cases = [...(await casesFor("heavy", heavy.token, heavy.user_id)), ...(await casesFor("light", light.token, light.user_id))];
    statements.clear();
    for (const c of cases) {
      route = c.name;
      const res = await call(c.method, c.url, { ...(c.token ? { token: c.token } : {}), ...(c.body ? { body: c.body } : {}), ...(c.headers ? { headers: c.headers } : {}) });
      expect(res.status, `${c.name}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    }
    for (const [name, sweep] of [
      ["cleanup-sessions", Sweep.cleanupSessions],
      ["expire-outreach", Sweep.expireOutreach],
      ["expire-quotes", Sweep.expireQuotes],
      ["fold-stats", Sweep.foldStats],
    ] as const) {
      route = `job: ${name}`;
      await sweep({ batchSize: 100 });
    }
    for (const s of statements.values()) plans.push({ route: s.route, sql: s.sql, plan: await explain(side, s) });
    expect(plans.length).toBeGreaterThan(40);
  });

  it("reads no table of over 10k rows whole and sorts no list: every page comes in index order", async () => {
    const sizes = await tableSizes(side);
    const broken = plans
      .map((p) => ({
        route: p.route,
        sql: p.sql,
        problems: problems(p.plan, sizes),
      }))
      .filter((p) => p.problems.length > 0);
    expect(broken).toEqual([]);
  });

  it("reads every index of the catalog, or says why it exists anyway", () => {
    const read = new Set(plans.flatMap((p) => indexesUsed(p.plan)));
    const unread = catalog.map((i) => i.name).filter((name) => !read.has(name) && !(name in NOT_READ_BY_ROUTES));
    expect(unread).toEqual([]);
    const excusedButRead = Object.keys(NOT_READ_BY_ROUTES).filter((name) => read.has(name));
    expect(excusedButRead, "read after all: drop the excuse").toEqual([]);
  });

  it("fails a query that no index serves", async () => {
    const sizes = await tableSizes(side);
    const plan = await explain(side, {
      sql: "select id from bid where title = $1 order by created_at desc, id desc limit 21",
      parameters: ["bid 1"],
    });
    expect(problems(plan, sizes)).toContainEqual(expect.stringMatching(/^Seq Scan on bid \(\d+ rows\)$/));
  });
});
