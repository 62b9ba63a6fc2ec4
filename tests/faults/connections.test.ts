import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { clustersAvailable, startFaultRig, type FaultRig } from "../support/cluster.ts";
import { checkWrites, startTraffic, statusesByKind } from "../support/traffic.ts";

/**
 * Connections that die or run out, on a throwaway cluster, through `npm start`
 * in both connection modes: backends killed under write traffic, a statement
 * held past DB_STATEMENT_TIMEOUT by a lock, and no connection to be had.
 */

const POOL_SIZE = 2;
const POOL_TIMEOUT_S = 1;
const STATEMENT_TIMEOUT_S = 5;
/** Generous room over the configured timeouts for a busy two-core machine. */
const MARGIN_MS = 3000;

const MODES = ["pooled", "per-request"] as const;

describe.runIf(inject("serverUrl") && clustersAvailable)("connections that die or run out", () => {
  let rig: FaultRig;
  let side: pg.Client;
  beforeAll(async () => {
    rig = await startFaultRig({
      actors: 6,
      maxConnections: 20,
      env: {
        DB_POOL_SIZE: String(POOL_SIZE),
        DB_MAX_OVERFLOW: "0",
        DB_POOL_TIMEOUT: String(POOL_TIMEOUT_S),
        DB_STATEMENT_TIMEOUT: String(STATEMENT_TIMEOUT_S),
      },
    });
    side = new pg.Client({ connectionString: rig.databaseUrl });
    await side.connect();
  });
  afterAll(async () => {
    await side?.end();
    await rig?.close();
  });

  const get = (url: string, path: string, token = rig.actors[0]!.token, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
  /** The app's backends waiting for a lock: the requests a held row lock has stopped. */
  const waiting = async () =>
    (await side.query<{ pid: number }>("select pid from pg_stat_activity where application_name = 'shopping-agent' and wait_event_type = 'Lock'")).rows.map((r) => r.pid);
  /** Holds a row lock in another session until the returned function is called. */
  async function lockRow(rowId: number): Promise<() => Promise<void>> {
    const holder = new pg.Client({ connectionString: rig.databaseUrl });
    await holder.connect();
    await holder.query("begin");
    await holder.query("select 1 from row where id = $1 for update", [rowId]);
    return async () => {
      await holder.query("rollback");
      await holder.end();
    };
  }

  describe.each(MODES)("%s", (mode) => {
    it("answers no 500 and loses no acknowledged write while backends are killed mid-request", async () => {
      const url = rig.servers[mode].url;
      const since = new Date();
      const traffic = startTraffic({ url, actors: rig.actors, workers: 6, mix: { read: 2, comment: 1, clickout: 1, purchase: 1, select: 1 } });
      let killed = 0;
      const until = performance.now() + 6000;
      while (performance.now() < until) {
        const { rows } = await side.query<{ n: number }>(
          "select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'shopping-agent'",
        );
        killed += rows[0]!.n;
        await new Promise((r) => setTimeout(r, 20));
      }
      const ledger = await traffic.stop();
      const statuses = statusesByKind(traffic.outcomes);
      expect(killed).toBeGreaterThan(0);
      for (const o of traffic.outcomes) expect([200, 201, 503], JSON.stringify(statuses)).toContain(o.status);
      const check = await checkWrites(rig.databaseUrl, ledger, rig.actors, since);
      expect(check).toMatchObject({ lost: 0, phantoms: 0, duplicates: 0, inconsistentRows: 0 });
      expect(Object.values(check.acknowledged).reduce((a, b) => a + b)).toBeGreaterThan(0);
      expect((await get(url, "/api/rows")).status).toBe(200);
    });

    it("cancels a statement past DB_STATEMENT_TIMEOUT with a 503, and the connection is not lost to it", async () => {
      const { url, output } = rig.servers[mode];
      const actor = rig.actors[1]!;
      const release = await lockRow(actor.rowId);
      let blocked: number[] = [];
      try {
        const started = performance.now();
        const patch = get(url, `/api/rows/${actor.rowId}`, actor.token, { method: "PATCH", body: JSON.stringify({ title: "behind a lock" }) });
        await expect.poll(async () => (blocked = await waiting())).toHaveLength(1);
        const res = await patch;
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toBe("2");
        expect(performance.now() - started).toBeLessThan(STATEMENT_TIMEOUT_S * 1000 + MARGIN_MS);
        expect(output()).toContain("a statement ran past its timeout (57014)");
        // Cancelled, not killed: pooled, the backend is back in the pool and idle; per request, closed as usual.
        const { rows } = await side.query<{ state: string }>("select state from pg_stat_activity where pid = $1", [blocked[0]]);
        expect(rows.map((r) => r.state)).toEqual(mode === "pooled" ? ["idle"] : []);
        expect(await waiting()).toEqual([]);
      } finally {
        await release();
      }
      const res = await get(url, `/api/rows/${actor.rowId}`, actor.token, { method: "PATCH", body: JSON.stringify({ title: "no lock now" }) });
      expect(res.status).toBe(200);
    });
  });

  it("answers 503 within DB_POOL_TIMEOUT when the pool is exhausted, naming the limit in the log", async () => {
    const { url, output } = rig.servers.pooled;
    const actor = rig.actors[2]!;
    const release = await lockRow(actor.rowId);
    const holders: Promise<Response>[] = [];
    try {
      for (let i = 0; i < POOL_SIZE; i++) {
        holders.push(get(url, `/api/rows/${actor.rowId}`, actor.token, { method: "PATCH", body: JSON.stringify({ title: `holder ${i}` }) }));
      }
      await expect.poll(waiting).toHaveLength(POOL_SIZE);
      const started = performance.now();
      const res = await get(url, "/api/rows");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("2");
      expect(performance.now() - started).toBeLessThan(POOL_TIMEOUT_S * 1000 + MARGIN_MS);
      expect(output()).toContain(`QueuePool limit of size ${POOL_SIZE} overflow 0 reached, connection timed out, timeout ${POOL_TIMEOUT_S}s`);
    } finally {
      await release();
      await Promise.all(holders);
    }
    expect((await get(url, "/api/rows")).status).toBe(200);
  });

  it("answers 503 at once when the server has no connection slot left (per request)", async () => {
    const { url, output } = rig.servers["per-request"];
    const hogs: pg.Client[] = [];
    try {
      for (;;) {
        const hog = new pg.Client({ connectionString: rig.databaseUrl });
        const refused = await hog.connect().then(
          () => false,
          (err: { code?: string }) => err.code === "53300",
        );
        if (refused) break;
        hogs.push(hog);
        if (hogs.length > 50) throw new Error("max_connections never reached");
      }
      const started = performance.now();
      const res = await get(url, "/api/rows");
      expect(res.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(POOL_TIMEOUT_S * 1000 + MARGIN_MS);
      expect(output()).toContain("the database refused more work (53300)");
    } finally {
      await Promise.all(hogs.map((h) => h.end()));
    }
    expect((await get(url, "/api/rows")).status).toBe(200);
  });
});
