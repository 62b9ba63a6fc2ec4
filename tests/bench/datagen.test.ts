import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { handlerFor } from "@shop/core/clickout";
import { hashToken, isWellFormed } from "@shop/core/session";
import { activeTokens, countsFor, generate, NotEmptyError, TABLES, type PlanOptions, type Report } from "../../bench/datagen/index.ts";
import { createTestDatabase, serverTargets, type TestDatabase } from "../support/db.ts";

/**
 * The test data generator, on a small dataset in fresh migrated databases on
 * the Postgres server (it loads with COPY, which embedded PGlite cannot take over `pg`).
 */

const DAY = 86_400_000;
// One "now" for every run of the file: the default (today 00:00 UTC) could change between two runs at midnight.
const now = new Date(Date.now() - (Date.now() % DAY));
const small: PlanOptions = { rows: 300, bidsPerRow: 10, seed: "datagen-test", now };

describe.runIf(serverTargets().includes("postgres"))("the test data generator", () => {
  const databases: TestDatabase[] = [];
  const clients: pg.Client[] = [];
  let db: TestDatabase;
  let client: pg.Client;
  let report: Report;

  async function fresh() {
    const created = await createTestDatabase("postgres");
    databases.push(created);
    const c = new pg.Client({ connectionString: created.url! });
    await c.connect();
    clients.push(c);
    return { db: created, client: c };
  }

  async function query<T extends pg.QueryResultRow>(c: pg.Client, text: string, values: unknown[] = []) {
    return (await c.query<T>(text, values)).rows;
  }

  /** md5 of every table's rows in id order: equal checksums, identical data. */
  async function checksum(c: pg.Client): Promise<string> {
    const parts: string[] = [];
    for (const t of TABLES) {
      parts.push((await query<{ md5: string }>(c, `SELECT md5(string_agg(x::text, E'\\n' ORDER BY id)) FROM "${t}" x`))[0]!.md5);
    }
    return parts.join(":");
  }

  beforeAll(async () => {
    ({ db, client } = await fresh());
    report = await generate({ ...small, url: db.url!, jobs: 2 });
  });

  afterAll(async () => {
    for (const c of clients) await c.end();
    for (const d of databases) await d.drop();
  });

  it("writes exactly the planned number of rows into every table", async () => {
    const expected = countsFor(small);
    expect(expected.bid).toBe(3000);
    expect(report.counts).toEqual(expected);
    for (const table of TABLES) {
      const [{ n }] = (await query<{ n: string }>(client, `SELECT count(*) AS n FROM "${table}"`)) as [{ n: string }];
      expect(Number(n), table).toBe(expected[table]);
    }
    expect(report.totalRows).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
  });

  it("leaves no dangling foreign key, and identities continue after the generated ids", async () => {
    const fks = await query<{ child: string; col: string; parent: string; pcol: string }>(
      client,
      `SELECT c.conrelid::regclass::text AS child, a.attname AS col, c.confrelid::regclass::text AS parent, pa.attname AS pcol
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace`,
    );
    expect(fks.length).toBeGreaterThanOrEqual(20);
    for (const fk of fks) {
      const [{ n }] = (await query<{ n: string }>(
        client,
        `SELECT count(*) AS n FROM ${fk.child} c WHERE c.${fk.col} IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE p.${fk.pcol} = c.${fk.col})`,
      )) as [{ n: string }];
      expect(Number(n), `${fk.child}.${fk.col}`).toBe(0);
    }
    const [{ id }] = (await query<{ id: string }>(client, `INSERT INTO seller (name) VALUES ('after the load') RETURNING id`)) as [
      { id: string },
    ];
    expect(Number(id)).toBe(report.counts.seller + 1);
    await client.query("DELETE FROM seller WHERE id = $1", [id]);
  });

  it("is skewed: a few users own many rows, a few rows draw many bids, a few sellers most bids", async () => {
    const [users] = await query<{ max: number; median: number }>(
      client,
      `SELECT max(n)::int AS max, percentile_disc(0.5) WITHIN GROUP (ORDER BY n)::int AS median
         FROM (SELECT count(*) AS n FROM "row" GROUP BY user_id) x`,
    );
    expect(users!.max).toBeGreaterThanOrEqual(3 * users!.median);
    const [bids] = await query<{ max: number; avg: number }>(
      client,
      `SELECT max(n)::int AS max, avg(n)::float AS avg FROM (SELECT count(*) AS n FROM bid GROUP BY row_id) x`,
    );
    expect(bids!.max).toBeGreaterThanOrEqual(4 * small.bidsPerRow);
    const [sellers] = await query<{ top: number }>(
      client,
      `SELECT (max(n) / avg(n))::float AS top FROM (SELECT count(*) AS n FROM bid WHERE seller_id IS NOT NULL GROUP BY seller_id) x`,
    );
    expect(sellers!.top).toBeGreaterThan(5);
  });

  it("mixes statuses, and keeps times and choices consistent", async () => {
    const statuses = await query<{ status: string }>(client, `SELECT DISTINCT status FROM "row"`);
    expect(statuses.map((s) => s.status).sort()).toEqual(
      ["archived", "bids_arriving", "closed", "inviting", "purchased", "reviewing", "selected", "sourcing"],
    );
    const [checks] = await query<Record<string, number>>(
      client,
      `SELECT
         (SELECT count(*) FROM bid b JOIN "row" r ON r.id = b.row_id WHERE b.created_at < r.created_at)::int AS early_bids,
         (SELECT count(*) FROM "row" r WHERE r.status IN ('selected', 'purchased')
            AND NOT EXISTS (SELECT 1 FROM bid b WHERE b.row_id = r.id AND b.is_selected))::int AS unselected,
         (SELECT count(*) FROM bid WHERE is_liked)::int AS liked,
         (SELECT count(*) FROM comment WHERE bid_id IS NOT NULL)::int AS bid_comments,
         (SELECT count(*) FROM seller_quote WHERE status = 'pending' AND token_expires_at < $1)::int AS stale_quotes,
         (SELECT count(DISTINCT status) FROM outreach_event)::int AS outreach_statuses,
         (SELECT count(DISTINCT status) FROM purchase_event)::int AS purchase_statuses,
         (SELECT count(DISTINCT status) FROM merchant)::int AS merchant_statuses,
         (SELECT count(DISTINCT stripe_onboarding_complete) FROM merchant)::int AS stripe_flags,
         (SELECT count(DISTINCT success) FROM audit_log)::int AS audit_outcomes,
         (SELECT count(DISTINCT action) FROM audit_log)::int AS audit_actions,
         (SELECT count(*) FROM clickout_event WHERE is_suspicious)::int AS suspicious,
         (SELECT extract(day FROM max(created_at) - min(created_at)) FROM "row")::int AS row_days`,
      [now],
    );
    expect(checks).toMatchObject({ early_bids: 0, unselected: 0, outreach_statuses: 5, purchase_statuses: 4 });
    expect(checks).toMatchObject({ merchant_statuses: 3, stripe_flags: 2, audit_outcomes: 2 });
    for (const key of ["liked", "bid_comments", "stale_quotes", "suspicious"]) expect(checks![key], key).toBeGreaterThan(0);
    expect(checks!.audit_actions).toBeGreaterThanOrEqual(5);
    expect(checks!.row_days).toBeGreaterThan(300);
  });

  it("records each clickout with the handler the app derives from the bid's URL", async () => {
    const rows = await query<{ url: string; handler: string; bid_url: string }>(
      client,
      `SELECT c.url, c.handler, b.url AS bid_url FROM clickout_event c JOIN bid b ON b.id = c.bid_id`,
    );
    expect(rows.length).toBe(report.counts.clickout_event);
    expect(rows.filter((r) => r.url !== r.bid_url || handlerFor(r.url) !== r.handler)).toEqual([]);
    expect(new Set(rows.map((r) => r.handler))).toEqual(new Set(["amazon", "ebay", "affiliate", "direct"]));
  });

  it("revokes or expires a few percent of sessions", async () => {
    const [s] = await query<{ revoked: number; expired: number; total: number }>(
      client,
      `SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL)::int AS revoked,
              count(*) FILTER (WHERE revoked_at IS NULL AND expires_at <= $1)::int AS expired,
              count(*)::int AS total
         FROM auth_session`,
      [now],
    );
    expect(s!.revoked).toBeGreaterThan(0);
    expect(s!.expired).toBeGreaterThan(0);
    expect((s!.revoked + s!.expired) / s!.total).toBeLessThan(0.15);
  });

  it("derives bearer tokens of active sessions of heavy and light users", async () => {
    const tokens = activeTokens(small, 10);
    expect(tokens).toHaveLength(10);
    expect(tokens.filter((t) => t.kind === "heavy")).toHaveLength(5);
    const heaviest = Math.min(...tokens.filter((t) => t.kind === "heavy").map((t) => t.rows));
    const lightest = Math.max(...tokens.filter((t) => t.kind === "light").map((t) => t.rows));
    expect(heaviest).toBeGreaterThan(lightest);
    for (const t of tokens) {
      expect(isWellFormed(t.token)).toBe(true);
      const found = await query<{ id: string; user_id: string; rows: string }>(
        client,
        `SELECT s.id, s.user_id, (SELECT count(*) FROM "row" r WHERE r.user_id = s.user_id) AS rows
           FROM auth_session s WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
        [hashToken(t.token)],
      );
      expect(found.map((f) => [Number(f.id), Number(f.user_id), Number(f.rows)])).toEqual([[t.session_id, t.user_id, t.rows]]);
    }
  });

  it("runs ANALYZE on every table", async () => {
    await expect
      .poll(
        async () =>
          (await query<{ relname: string }>(client, `SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL`))
            .map((r) => r.relname)
            .filter((t) => (TABLES as readonly string[]).includes(t))
            .sort(),
        { timeout: 10_000, interval: 200 },
      )
      .toEqual([...TABLES].sort());
  });

  it("gives the same seed the same data (with or without FK triggers) and another seed other data", async () => {
    const same = await fresh();
    await generate({ ...small, url: same.db.url!, jobs: 3, foreignKeys: "triggers", taskRows: 700 });
    const other = await fresh();
    await generate({ ...small, seed: "another seed", url: other.db.url! });
    const [a, b, c] = await Promise.all([checksum(client), checksum(same.client), checksum(other.client)]);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it("refuses a database that has data unless asked to reset it", async () => {
    const before = await checksum(client);
    const refused = generate({ ...small, url: db.url! });
    await expect(refused).rejects.toThrow(NotEmptyError);
    await expect(refused).rejects.toThrow(/--reset/);
    expect(await checksum(client)).toBe(before);
    await client.query(`INSERT INTO merchant (name) VALUES ('left over')`);
    await generate({ ...small, url: db.url!, reset: true });
    expect(await checksum(client)).toBe(before);
  });
});
