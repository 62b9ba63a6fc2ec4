import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import { Database } from "@shop/core/db";
import * as Sweep from "@shop/core/sweep";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { allPages } from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

captureLogs();

/** The dashboard's counts straight from the tables, as stats counted them before 0010's triggers. */
async function countedFromTables() {
  const { rows } = await Database.use((db) =>
    sql<Record<string, unknown>>`select
      (select count(*)::int from "user") as users,
      (select coalesce(json_object_agg(status, n), '{}') from (select status, count(*)::int as n from "row" group by status) r) as rows,
      (select count(*)::int from bid) as bids,
      (select count(*)::int from "row" where selected_bid_id is not null) as selected,
      (select count(*)::int from auth_session where revoked_at is null and expires_at > now()) as sessions,
      (select coalesce(json_object_agg(status, n), '{}') from (select status, count(*)::int as n from purchase_event group by status) p) as purchases,
      (select coalesce(json_object_agg(status, n), '{}') from (select status, count(*)::int as n from merchant group by status) m) as merchants`.execute(db),
  );
  return rows[0];
}

/** The same counts as GET /api/admin/stats answers them (statuses with none left out). */
async function countedByStats(token: string) {
  const res = await call("GET", "/api/admin/stats", { token });
  expect(res.status).toBe(200);
  const some = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
  const b = res.body;
  return {
    users: b.users,
    rows: some(b.rows.by_status),
    bids: b.bids.total,
    selected: b.bids.selected,
    sessions: b.sessions.active,
    purchases: some(b.purchases.by_status),
    merchants: some(b.merchants.by_status),
  };
}

async function auditRows(userId: number, action: string) {
  return Database.use((db) =>
    db.selectFrom("audit_log").select(["action", "success", "details", "request_id"]).where("user_id", "=", userId).where("action", "=", action).execute(),
  );
}

describe.each(targets())("admin routes on %s", (target) => {
  useApiDatabase(target);

  it.each(["/api/admin/stats", "/api/admin/clickouts", "/api/admin/audit-log", "/api/admin/merchants"])(
    "%s answers a non-admin 403 and audits the refusal",
    async (path) => {
      const u = await fx.user();
      const res = await call("GET", path, { token: u.token });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
      expect(await auditRows(u.id, "admin.access_denied")).toEqual([
        expect.objectContaining({ success: false, request_id: res.headers["x-request-id"] }),
      ]);
    },
  );

  it("counts what the dashboard shows, and audits the read", async () => {
    const before = (await call("GET", "/api/admin/stats", { token: (await fx.user({ admin: true })).token })).body;
    const admin = await fx.user({ admin: true });
    const shopper = await fx.user();
    const r = await fx.row(shopper.id, { status: "reviewing" });
    const chosen = await fx.bid(r.id, { is_selected: true });
    await fx.bid(r.id);
    await call("POST", "/api/clickouts", { token: shopper.token, body: { bid_id: chosen.id } });
    await call("POST", "/api/purchases", { token: shopper.token, body: { bid_id: chosen.id } });
    await Database.use((db) => db.insertInto("merchant").values({ name: "M", status: "suspended" }).execute());
    const res = await call("GET", "/api/admin/stats", { token: admin.token });
    expect(res.status).toBe(200);
    const now = res.body;
    expect(now.users).toBe(before.users + 2); // the admin and the shopper (the first admin counted already)
    expect(now.rows.by_status.reviewing).toBe(before.rows.by_status.reviewing + 1);
    expect(now.rows.total).toBe(before.rows.total + 1);
    expect(now.bids).toEqual({ total: before.bids.total + 2, selected: before.bids.selected + 1 });
    expect(now.sessions.active).toBe(before.sessions.active + 2);
    expect(now.clickouts_24h.total).toBe(before.clickouts_24h.total + 1);
    expect(now.clickouts_24h.by_handler.amazon).toBe(before.clickouts_24h.by_handler.amazon + 1);
    expect(now.purchases.by_status.pending).toBe(before.purchases.by_status.pending + 1);
    expect(now.merchants.by_status.suspended).toBe(before.merchants.by_status.suspended + 1);
    expect(Object.keys(now.rows.by_status)).toHaveLength(8);
    expect(await auditRows(admin.id, "admin.stats")).toEqual([
      expect.objectContaining({ success: true, request_id: res.headers["x-request-id"] }),
    ]);
  });

  it("keeps every count exact through inserts, updates, deletes, cascades, folds and writers racing each other", async () => {
    const admin = await fx.user({ admin: true });
    const expectExact = async () => expect(await countedByStats(admin.token)).toEqual(await countedFromTables());
    await expectExact();

    const shopper = await fx.user();
    const rows = await Promise.all(["sourcing", "reviewing", "selected", "closed"].map((status) => fx.row(shopper.id, { status })));
    await fx.manyBids(rows[0]!.id, 30);
    const chosen = await fx.bid(rows[1]!.id, { is_selected: true });
    await fx.bid(rows[2]!.id, { is_selected: true });
    await call("POST", "/api/purchases", { token: shopper.token, body: { bid_id: chosen.id } });
    await Database.use((db) => db.insertInto("merchant").values([{ name: "A", status: "pending" }, { name: "B", status: "active" }]).execute());
    // Sessions expiring later this hour, in a later hour, already expired, and one revoked.
    const expiring = await Promise.all([fx.sessionFor(shopper.id), fx.sessionFor(shopper.id)]);
    await Database.use(async (db) => {
      const at = [sql<Date>`date_trunc('hour', now()) + interval '1 hour' - interval '1 microsecond'`, sql<Date>`now() + interval '2 hours'`];
      for (const [i, s] of expiring.entries()) await db.updateTable("auth_session").set({ expires_at: at[i]! }).where("id", "=", s.sessionId).execute();
    });
    await fx.sessionFor(shopper.id, { days: -1 });
    await call("POST", "/api/auth/logout", { token: (await fx.sessionFor(shopper.id)).token });
    await expectExact();

    // Updates that move counts, and one that moves none; a bid select; deletes and their cascades.
    await call("POST", `/api/rows/${rows[0]!.id}/bids/${(await fx.bid(rows[0]!.id)).id}/select`, { token: shopper.token });
    await Database.use(async (db) => {
      await db.updateTable("row").set({ status: "archived" }).where("id", "=", rows[3]!.id).execute();
      await db.updateTable("row").set({ title: "renamed" }).where("user_id", "=", shopper.id).execute();
      await db.updateTable("purchase_event").set({ status: "completed" }).where("user_id", "=", shopper.id).execute();
      await db.updateTable("merchant").set({ status: "suspended" }).where("name", "=", "A").execute();
      await db.updateTable("auth_session").set({ expires_at: sql<Date>`now() - interval '1 second'` }).where("id", "=", shopper.sessionId).execute();
      await db.deleteFrom("bid").where("id", "=", chosen.id).execute(); // clears row.selected_bid_id (ON DELETE SET NULL)
      await db.deleteFrom("merchant").where("name", "=", "B").execute();
    });
    await call("DELETE", `/api/rows/${rows[2]!.id}`, { token: (await fx.sessionFor(shopper.id)).token });
    await expectExact();

    // Folded, the rows are one per count and the counts do not move.
    expect(await Sweep.foldStats()).toMatchObject({ sweep: "fold-stats", finished: true });
    await expectExact();
    const perCount = await Database.use((db) =>
      db.selectFrom("stat_delta").select(["name", "key"]).select((eb) => eb.fn.countAll<number>().as("n")).groupBy(["name", "key"]).having(sql`count(*)`, ">", 1).execute(),
    );
    expect(perCount).toEqual([]);

    // Writers and folds at once (really concurrent on a server; one after another on PGlite).
    const others = await Promise.all(Array.from({ length: 4 }, () => fx.user()));
    await Promise.all([
      ...others.map(async (u, i) => {
        const r = await fx.row(u.id, { status: i % 2 ? "reviewing" : "sourcing" });
        await fx.manyBids(r.id, 10 + i);
        await fx.bid(r.id, { is_selected: true });
        if (i === 0) await Database.use((db) => db.deleteFrom("row").where("id", "=", r.id).execute());
      }),
      Sweep.foldStats({ batchSize: 3 }),
      Sweep.foldStats({ batchSize: 5 }),
      Database.use((db) => db.deleteFrom("user").where("id", "=", shopper.id).execute()), // cascades to rows, bids, sessions
    ]);
    await expectExact();
    await Promise.all([Sweep.foldStats(), Sweep.foldStats()]);
    await expectExact();
  });

  it("lists clickouts newest first, by suspicion, handler and time, page by page", async () => {
    const admin = await fx.user({ admin: true });
    const u = await fx.user();
    const r = await fx.row(u.id);
    const ebay = await fx.bid(r.id, { url: "https://www.ebay.com/itm/1" });
    for (let i = 0; i < 5; i++) await call("POST", "/api/clickouts", { token: u.token, body: { bid_id: ebay.id } });
    await Database.use((db) => sql`update clickout_event set is_suspicious = true where user_id = ${u.id} and id = (select max(id) from clickout_event where user_id = ${u.id})`.execute(db));
    const { items, pages } = await allPages<{ id: number; user_id: number; handler: string }>(async (cursor) =>
      (await call("GET", `/api/admin/clickouts?handler=ebay&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: admin.token })).body,
    );
    const mine = items.filter((c) => c.user_id === u.id);
    expect(mine).toHaveLength(5);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(items.map((c) => c.id)).size).toBe(items.length);
    expect(items.every((c) => c.handler === "ebay")).toBe(true);
    const suspicious = await call("GET", "/api/admin/clickouts?suspicious=true&limit=100", { token: admin.token });
    expect(suspicious.body.items.filter((c: { user_id: number }) => c.user_id === u.id)).toHaveLength(1);
    const future = await call("GET", "/api/admin/clickouts?since=2999-01-01T00:00:00Z", { token: admin.token });
    expect(future.body).toEqual({ items: [], next_cursor: null });
    expectInvalid(await call("GET", "/api/admin/clickouts?since=yesterday", { token: admin.token }), "query.since");
    expectInvalid(await call("GET", "/api/admin/clickouts?handler=bing", { token: admin.token }), "query.handler");
  });

  it("lists the audit trail by action and outcome, with parsed details, and audits the read with its filters", async () => {
    const admin = await fx.user({ admin: true });
    const u = await fx.user();
    const r = await fx.row(u.id);
    await call("POST", "/api/share-links", { token: u.token, body: { resource_type: "row", resource_id: r.id, expires_in_days: 3 } });
    await call("GET", "/api/admin/stats", { token: u.token }); // refused: a failed admin access
    const shares = await call("GET", "/api/admin/audit-log?action=share_link.create&limit=100", { token: admin.token });
    const share = shares.body.items.find((a: { user_id: number }) => a.user_id === u.id);
    expect(share).toMatchObject({ action: "share_link.create", success: true, resource_type: "row", resource_id: String(r.id) });
    expect(share.details).toEqual({ share_link_id: expect.any(Number), expires_in_days: 3 });
    const failed = await call("GET", "/api/admin/audit-log?success=false&limit=100", { token: admin.token });
    expect(failed.body.items.some((a: { user_id: number; action: string }) => a.user_id === u.id && a.action === "admin.access_denied")).toBe(true);
    expect(failed.body.items.every((a: { success: boolean }) => !a.success)).toBe(true);
    expect(await auditRows(admin.id, "admin.audit_log")).toEqual([
      expect.objectContaining({ details: JSON.stringify({ action: "share_link.create" }) }),
      expect.objectContaining({ details: JSON.stringify({ success: false }) }),
    ]);
  });

  it("lists merchants by status and Stripe onboarding", async () => {
    const admin = await fx.user({ admin: true });
    await Database.use((db) =>
      db
        .insertInto("merchant")
        .values([
          { name: "A", status: "active", stripe_onboarding_complete: true },
          { name: "B", status: "pending", stripe_onboarding_complete: false },
        ])
        .execute(),
    );
    const active = await call("GET", "/api/admin/merchants?status=active&stripe_onboarding_complete=true&limit=100", { token: admin.token });
    expect(active.status).toBe(200);
    expect(active.body.items.length).toBeGreaterThan(0);
    expect(active.body.items.every((m: { status: string; stripe_onboarding_complete: boolean }) => m.status === "active" && m.stripe_onboarding_complete)).toBe(true);
    expectInvalid(await call("GET", "/api/admin/merchants?status=closed", { token: admin.token }), "query.status");
  });
});
