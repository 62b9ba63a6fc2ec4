import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sql } from "kysely";
import pg from "pg";
import { Database } from "@shop/core/db";
import * as Sweep from "@shop/core/sweep";
import { createTestDatabase, serverTargets, stopNeonBridge, targets, type TargetName, type TestDatabase } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { explain, type PlanNode, type Statement } from "../support/plans.ts";
import * as ox from "../support/outreach-fixtures.ts";

const logs = captureLogs();

type Status = "queued" | "sent" | "opened" | "responded" | "expired";
type QuoteStatus = "pending" | "submitted" | "expired";

/** `now()` shifted by whole days (negative: in the past), computed by the database. */
const daysFromNow = (days: number) => sql<Date>`now() + make_interval(days => ${days})`;

/** A session revoked and/or expiring `days` from now (negative: ago); an active one by default. */
async function session(userId: number, times: { revoked?: number; expires?: number } = {}): Promise<number> {
  const row = await Database.use((db) =>
    db
      .insertInto("auth_session")
      .values({
        user_id: userId,
        token_hash: randomBytes(32).toString("hex"),
        expires_at: daysFromNow(times.expires ?? 30),
        revoked_at: times.revoked === undefined ? null : daysFromNow(times.revoked),
      })
      .returning("id")
      .executeTakeFirstOrThrow(),
  );
  return row.id;
}

async function sessionIds(): Promise<number[]> {
  const rows = await Database.use((db) => db.selectFrom("auth_session").select("id").orderBy("id").execute());
  return rows.map((r) => r.id);
}

async function outreachStatuses(): Promise<Map<number, Status>> {
  const rows = await Database.use((db) => db.selectFrom("outreach_event").select(["id", "status"]).execute());
  return new Map(rows.map((r) => [r.id, r.status]));
}

async function quoteStatuses(): Promise<Map<number, QuoteStatus>> {
  const rows = await Database.use((db) => db.selectFrom("seller_quote").select(["id", "status"]).execute());
  return new Map(rows.map((r) => [r.id, r.status]));
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** The `sweep` log lines written so far. */
function sweepLines() {
  return logs.filter((l) => l.entry.msg === "sweep").map((l) => l.entry);
}

describe.each(targets())("the scheduled sweeps on %s", (target: TargetName) => {
  let db: TestDatabase;
  let userId: number;
  let rowId: number;
  let sellerId: number;

  beforeAll(async () => {
    db = await createTestDatabase(target);
    Database.setDefault(db.client);
    userId = (await fx.user()).id;
    rowId = (await fx.row(userId)).id;
    sellerId = (await fx.seller()).id;
  });

  afterAll(async () => {
    Database.setDefault(null);
    await db?.drop();
    await stopNeonBridge();
  });

  // Each sweep reads its whole table: every test starts from empty ones.
  beforeEach(async () => {
    Database.setDefault(db.client);
    await Database.use(async (d) => {
      await d.deleteFrom("auth_session").execute();
      await d.deleteFrom("outreach_event").execute();
      await d.deleteFrom("seller_quote").execute();
    });
  });

  /** `n` events past their expiry, still queued. */
  async function lapsedOutreach(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await ox.outreachEvent(rowId, sellerId, { status: "queued", expired_at: new Date(Date.now() - (i + 1) * 60_000) });
  }

  /** `n` pending quotes past their expiry. */
  async function lapsedQuotes(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await ox.quote(rowId, sellerId, { expiresInDays: -(i + 1) });
  }

  describe("cleanup-sessions", () => {
    it("deletes the sessions revoked or expired more than 30 days ago, and nothing else", async () => {
      const gone = [
        await session(userId, { revoked: -31 }),
        await session(userId, { expires: -31 }),
        await session(userId, { revoked: -29, expires: -31 }),
        await session(userId, { revoked: -31, expires: -31 }),
      ];
      const kept = [
        await session(userId),
        await session(userId, { revoked: -29 }),
        await session(userId, { expires: -29 }),
        await session(userId, { revoked: -29, expires: -29 }),
        await session(userId, { expires: 1 }),
      ];

      const result = await Sweep.cleanupSessions();

      expect(result).toMatchObject({ sweep: "cleanup-sessions", touched: gone.length, finished: true });
      expect(await sessionIds()).toEqual(kept);
      expect(sweepLines()).toEqual([
        expect.objectContaining({ level: "info", sweep: "cleanup-sessions", touched: gone.length, batches: 2, finished: true, batch_size: 1000 }),
      ]);
    });

    it("works in batches of the size asked for, the revoked ones first, then the expired", async () => {
      for (let i = 0; i < 5; i++) await session(userId, { revoked: -31 - i });
      const active = await session(userId);

      // Revoked: 2, 2, then 1 (fewer than a batch: that phase is done); expired: one batch that finds none.
      expect(await Sweep.cleanupSessions({ batchSize: 2 })).toMatchObject({ touched: 5, batches: 4, finished: true });
      expect(await sessionIds()).toEqual([active]);
    });

    it("touches nothing the second time", async () => {
      await session(userId, { revoked: -31 });
      await session(userId, { expires: -40 });
      expect((await Sweep.cleanupSessions()).touched).toBe(2);
      expect(await Sweep.cleanupSessions()).toMatchObject({ touched: 0, batches: 2, finished: true });
    });
  });

  describe("expire-outreach", () => {
    it("expires the queued and sent events past their expired_at, and nothing else", async () => {
      const past = new Date(Date.now() - 3_600_000);
      const future = new Date(Date.now() + 3_600_000);
      const expired: number[] = [];
      for (const status of ["queued", "sent"] as const) expired.push((await ox.outreachEvent(rowId, sellerId, { status, expired_at: past })).id);
      const before = new Map<number, Status>();
      for (const status of ["opened", "responded", "expired"] as const) {
        before.set((await ox.outreachEvent(rowId, sellerId, { status, expired_at: past })).id, status);
      }
      for (const status of ["queued", "sent"] as const) {
        before.set((await ox.outreachEvent(rowId, sellerId, { status, expired_at: future })).id, status);
        before.set((await ox.outreachEvent(rowId, sellerId, { status, expired_at: null })).id, status);
      }

      const result = await Sweep.expireOutreach();

      expect(result).toMatchObject({ sweep: "expire-outreach", touched: 2, batches: 1, finished: true });
      const after = await outreachStatuses();
      for (const id of expired) expect(after.get(id), `event ${id}`).toBe("expired");
      for (const [id, status] of before) expect(after.get(id), `event ${id}`).toBe(status);
      expect(sweepLines()).toEqual([expect.objectContaining({ sweep: "expire-outreach", touched: 2, batches: 1, finished: true })]);
    });

    it("works in batches of the size asked for", async () => {
      await lapsedOutreach(5);
      expect(await Sweep.expireOutreach({ batchSize: 2 })).toMatchObject({ touched: 5, batches: 3, finished: true });
      expect([...(await outreachStatuses()).values()]).toEqual(Array(5).fill("expired"));
    });

    it("touches nothing the second time", async () => {
      await lapsedOutreach(3);
      expect((await Sweep.expireOutreach()).touched).toBe(3);
      expect(await Sweep.expireOutreach()).toMatchObject({ touched: 0, batches: 1, finished: true });
    });
  });

  describe("expire-quotes", () => {
    it("expires the pending quotes past their token's expiry, and nothing else", async () => {
      const lapsed = await ox.quote(rowId, sellerId, { expiresInDays: -1 });
      const before = new Map<number, QuoteStatus>([
        [(await ox.quote(rowId, sellerId, { expiresInDays: 1 })).id, "pending"],
        [(await ox.quote(rowId, sellerId, { expiresInDays: -1, status: "submitted" })).id, "submitted"],
        [(await ox.quote(rowId, sellerId, { expiresInDays: 1, status: "submitted" })).id, "submitted"],
        [(await ox.quote(rowId, sellerId, { expiresInDays: -1, status: "expired" })).id, "expired"],
      ]);

      const result = await Sweep.expireQuotes();

      expect(result).toMatchObject({ sweep: "expire-quotes", touched: 1, batches: 1, finished: true });
      const after = await quoteStatuses();
      expect(after.get(lapsed.id)).toBe("expired");
      for (const [id, status] of before) expect(after.get(id), `quote ${id}`).toBe(status);
      expect(sweepLines()).toEqual([expect.objectContaining({ sweep: "expire-quotes", touched: 1, batches: 1, finished: true })]);
    });

    it("works in batches of the size asked for", async () => {
      await lapsedQuotes(5);
      expect(await Sweep.expireQuotes({ batchSize: 2 })).toMatchObject({ touched: 5, batches: 3, finished: true });
      expect([...(await quoteStatuses()).values()]).toEqual(Array(5).fill("expired"));
    });

    it("touches nothing the second time", async () => {
      await lapsedQuotes(2);
      expect((await Sweep.expireQuotes()).touched).toBe(2);
      expect(await Sweep.expireQuotes()).toMatchObject({ touched: 0, batches: 1, finished: true });
    });
  });

  describe("the time budget", () => {
    it("stops starting batches once it is spent, reports the run unfinished, and the next run carries on", async () => {
      await lapsedQuotes(5);
      await lapsedOutreach(5);
      for (let i = 0; i < 5; i++) await session(userId, { revoked: -31 - i });

      // A budget of 0 is spent as soon as the first batch, which always runs, is done.
      for (const run of [Sweep.expireQuotes, Sweep.expireOutreach, Sweep.cleanupSessions]) {
        expect(await run({ batchSize: 2, budgetMs: 0 })).toMatchObject({ touched: 2, batches: 1, finished: false });
      }
      expect(sweepLines().map((l) => [l.sweep, l.finished])).toEqual([
        ["expire-quotes", false],
        ["expire-outreach", false],
        ["cleanup-sessions", false],
      ]);

      for (const run of [Sweep.expireQuotes, Sweep.expireOutreach, Sweep.cleanupSessions]) {
        expect(await run({ batchSize: 2 })).toMatchObject({ touched: 3, finished: true });
      }
    });

    it("counts across the phases of cleanup-sessions: the expired ones wait for the next run", async () => {
      await session(userId, { revoked: -31 });
      await session(userId, { expires: -31 });
      expect(await Sweep.cleanupSessions({ budgetMs: 0 })).toMatchObject({ touched: 1, batches: 1, finished: false });
      expect(await Sweep.cleanupSessions()).toMatchObject({ touched: 1, batches: 2, finished: true });
    });
  });

  it("runs the same in per-request mode: one connection for the run, each batch its own statement", async () => {
    const perRequest = db.open({ useNullPool: true });
    Database.setDefault(perRequest);
    await lapsedQuotes(5);
    const before = perRequest.counters();
    expect(await Sweep.expireQuotes({ batchSize: 2 })).toMatchObject({ touched: 5, batches: 3, finished: true });
    const after = perRequest.counters();
    expect([after.opened - before.opened, after.closed - before.closed]).toEqual([1, 1]);
    expect(perRequest.stats().checked_out).toBe(0);
  });

  it("refuses a batch size outside 1 to 10,000", async () => {
    for (const batchSize of [0, -1, 1.5, 10_001]) await expect(Sweep.expireQuotes({ batchSize })).rejects.toThrow();
  });
});

describe.each(serverTargets())("the scheduled sweeps, two at once on %s", (target: TargetName) => {
  let db: TestDatabase;
  let side: pg.Client;
  let rowId: number;
  let sellerId: number;
  let userId: number;

  beforeAll(async () => {
    db = await createTestDatabase(target);
    // Per-request mode: every run has its own connection, as two Lambdas would.
    Database.setDefault(db.open({ useNullPool: true }));
    userId = (await fx.user()).id;
    rowId = (await fx.row(userId)).id;
    sellerId = (await fx.seller()).id;
    side = new pg.Client({ connectionString: db.url! });
    await side.connect();
  });

  afterAll(async () => {
    Database.setDefault(null);
    await side?.end();
    await db?.drop();
    await stopNeonBridge();
  });

  const ELIGIBLE = 3000;

  /** ELIGIBLE rows each sweep must touch, among as many it must leave alone. */
  async function manyRows(): Promise<void> {
    await side.query(
      `insert into auth_session (user_id, token_hash, expires_at, revoked_at)
       select $1, md5(g::text) || md5((-g)::text), now() + make_interval(days => case when g % 2 = 0 then -31 else 30 end),
              case when g % 4 = 1 then now() - make_interval(days => 31) when g % 4 = 3 then now() - make_interval(days => 29) end
       from generate_series(1, $2 * 4 / 3) g`,
      [userId, ELIGIBLE],
    );
    await side.query(
      `insert into outreach_event (row_id, seller_id, channel, status, expired_at)
       select $1, $2, 'email', (array['queued', 'sent', 'opened', 'responded'])[g % 4 + 1], now() - make_interval(mins => g)
       from generate_series(1, $3 * 2) g`,
      [rowId, sellerId, ELIGIBLE],
    );
    await side.query(
      `insert into seller_quote (row_id, seller_id, token, token_expires_at, status)
       select $1, $2, md5(g::text) || md5((-g)::text), now() - make_interval(mins => g), (array['pending', 'submitted'])[g % 2 + 1]
       from generate_series(1, $3 * 2) g`,
      [rowId, sellerId, ELIGIBLE],
    );
  }

  async function count(text: string): Promise<number> {
    return Number((await side.query<{ n: string }>(text)).rows[0]!.n);
  }

  it("touch every eligible row once between them, without an error", async () => {
    await manyRows();
    const eligibleSessions = await count(
      "select count(*) as n from auth_session where revoked_at < now() - interval '30 days' or expires_at < now() - interval '30 days'",
    );
    expect(eligibleSessions).toBe(ELIGIBLE);
    const sessionsBefore = await count("select count(*) as n from auth_session");

    for (const run of [Sweep.cleanupSessions, Sweep.expireOutreach, Sweep.expireQuotes]) {
      const [a, b] = await Promise.all([run({ batchSize: 50 }), run({ batchSize: 50 })]);
      expect(a!.touched + b!.touched, a!.sweep).toBe(ELIGIBLE);
      expect(a!.finished && b!.finished, a!.sweep).toBe(true);
    }

    expect(await count("select count(*) as n from auth_session")).toBe(sessionsBefore - ELIGIBLE);
    expect(await count("select count(*) as n from auth_session where revoked_at < now() - interval '30 days' or expires_at < now() - interval '30 days'")).toBe(0);
    expect(await count("select count(*) as n from outreach_event where status = 'expired'")).toBe(ELIGIBLE);
    expect(await count("select count(*) as n from outreach_event where status in ('opened', 'responded')")).toBe(ELIGIBLE);
    expect(await count("select count(*) as n from seller_quote where status = 'expired'")).toBe(ELIGIBLE);
    expect(await count("select count(*) as n from seller_quote where status = 'submitted'")).toBe(ELIGIBLE);
  });

  it("skip the rows another transaction holds, without waiting for it, and leave them to the next run", async () => {
    await side.query("delete from seller_quote");
    await lapsedQuotesOnServer(4);
    const [held] = (await side.query<{ id: string }>("select id from seller_quote order by token_expires_at limit 1")).rows;
    const holder = new pg.Client({ connectionString: db.url! });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select id from seller_quote where id = $1 for update", [held!.id]);
      // Were it to wait for the lock, this would hang until the test timed out.
      expect(await Sweep.expireQuotes()).toMatchObject({ touched: 3, finished: true });
      await holder.query("commit");
    } finally {
      await holder.end();
    }
    expect(await count(`select count(*) as n from seller_quote where status = 'pending'`)).toBe(1);
    expect(await Sweep.expireQuotes()).toMatchObject({ touched: 1, finished: true });
  });

  /** The indexes the sweeps are written for (the index migration builds them), by the statement each serves. */
  const SWEEP_INDEXES = {
    sweep_revoked: ["auth_session (revoked_at) WHERE revoked_at IS NOT NULL", /"revoked_at" </],
    sweep_expired: ["auth_session (expires_at)", /"expires_at" </],
    sweep_outreach: ["outreach_event (expired_at) WHERE status IN ('queued', 'sent')", /from "outreach_event"/],
    sweep_quotes: ["seller_quote (token_expires_at) WHERE status = 'pending'", /from "seller_quote"/],
  } as const;

  it("read each table in the order they take rows through exactly the indexes they are written for", async () => {
    const seen: Statement[] = [];
    const observed = db.open({ useNullPool: true }, { observe: (text, parameters) => seen.push({ sql: text, parameters }) });
    Database.setDefault(observed);
    try {
      for (const run of [Sweep.cleanupSessions, Sweep.expireOutreach, Sweep.expireQuotes]) await run();
    } finally {
      Database.setDefault(db.client);
    }
    const batches = [...new Map(seen.map((s) => [s.sql, s])).values()];
    expect(batches).toHaveLength(4);

    // In a transaction rolled back at the end: these tables keep only their keys and unique
    // indexes, plus the ones above. The tables are small here, so the planner would rightly
    // scan or sort them: ask it for a plan without, which only an index that fits can give.
    await side.query("begin");
    try {
      const { rows } = await side.query<{ name: string }>(
        `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
         where i.indrelid in ('auth_session'::regclass, 'outreach_event'::regclass, 'seller_quote'::regclass) and not i.indisunique`,
      );
      for (const { name } of rows) await side.query(`drop index ${name}`);
      for (const [name, [definition]] of Object.entries(SWEEP_INDEXES)) await side.query(`create index ${name} on ${definition}`);
      for (const setting of ["enable_seqscan", "enable_bitmapscan", "enable_sort"]) await side.query(`set local ${setting} = off`);
      for (const [name, [, statement]] of Object.entries(SWEEP_INDEXES)) {
        const batch = batches.find((b) => statement.test(b.sql))!;
        const plan = await explain(side, batch);
        const scans = nodesOf(plan).filter((n) => /Scan|Sort/.test(n["Node Type"]) && n["Node Type"] !== "CTE Scan");
        // The batch's scan, in index order (no sort), then the primary key lookup of the rows it took.
        expect(
          scans.map((n) => `${n["Node Type"]} ${n["Index Name"] ?? ""}`.trim()),
          batch.sql,
        ).toEqual([`Index Scan ${name}`, expect.stringMatching(/^Index Scan \w+_pkey$/)]);
      }
    } finally {
      await side.query("rollback");
    }
  });

  async function lapsedQuotesOnServer(n: number): Promise<void> {
    await side.query(
      `insert into seller_quote (row_id, seller_id, token, token_expires_at)
       select $1, $2, md5(g::text) || md5(random()::text), now() - make_interval(mins => g) from generate_series(1, $3) g`,
      [rowId, sellerId, n],
    );
  }
});
