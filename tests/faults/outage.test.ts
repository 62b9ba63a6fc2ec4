import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { clustersAvailable, startFaultRig, type FaultRig } from "../support/cluster.ts";
import { checkWrites, startTraffic, statusesByKind, type Outcome } from "../support/traffic.ts";

/**
 * The database stops, or goes silent (SIGSTOP), under traffic, on a throwaway
 * cluster: `npm start` in both connection modes answers 503 with retry-after
 * within DB_POOL_TIMEOUT (never a 500, never a hang), loses no acknowledged
 * write, and serves again once the database is back, without a restart.
 */

const POOL_TIMEOUT_S = 2;
// Under the pool timeout: a statement caught by the freeze is given up after it and a second (the cancel's wait).
const STATEMENT_TIMEOUT_S = 1;
/** The contract's bound, DB_POOL_TIMEOUT, with a generous margin for a busy two-core machine. */
const ANSWER_WITHIN_MS = POOL_TIMEOUT_S * 1000 + 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(inject("serverUrl") && clustersAvailable)("a database outage under traffic", () => {
  let rig: FaultRig;
  beforeAll(async () => {
    rig = await startFaultRig({ actors: 4, env: { DB_POOL_TIMEOUT: String(POOL_TIMEOUT_S), DB_STATEMENT_TIMEOUT: String(STATEMENT_TIMEOUT_S) } });
  });
  afterAll(() => rig?.close());

  describe.each(["pooled", "per-request"] as const)("%s", (mode) => {
    it.each([
      ["stopped", () => rig.cluster.stop(), () => rig.cluster.start()],
      ["frozen", async () => rig.cluster.freeze(), async () => rig.cluster.thaw()],
    ] as const)("answers 503 with retry-after within DB_POOL_TIMEOUT while the database is %s, and recovers by itself", async (_what, fail, recover) => {
      const url = rig.servers[mode].url;
      const since = new Date();
      const traffic = startTraffic({ url, actors: rig.actors, workers: 4, mix: { read: 3, comment: 1, purchase: 1 }, timeoutMs: 60_000 });
      const answered = (from: number, ok: (o: Outcome) => boolean) => traffic.outcomes.filter((o) => o.at >= from && ok(o)).length;

      await expect.poll(() => answered(0, (o) => o.status < 300), { timeout: 30_000 }).toBeGreaterThan(20);
      await fail();
      try {
        const during = await fetch(`${url}/api/rows`, { headers: { authorization: `Bearer ${rig.actors[0]!.token}` } });
        expect(during.status).toBe(503);
        expect(during.headers.get("retry-after")).toBe("2");
        expect(await during.json()).toEqual({ error: { code: "database_unavailable", message: "the database is unavailable; retry shortly" } });
        await sleep(POOL_TIMEOUT_S * 1000 + 2000);
      } finally {
        await recover();
      }

      // Back without a restart: twenty answers in a row that succeed.
      await expect
        .poll(() => traffic.outcomes.slice(-20).every((o) => o.status < 300) && traffic.outcomes.length > 20, { timeout: 60_000, interval: 200 })
        .toBe(true);
      const ledger = await traffic.stop();
      const outcomes = traffic.outcomes;
      const statuses = statusesByKind(outcomes);
      for (const o of outcomes) expect([200, 201, 503], JSON.stringify(statuses)).toContain(o.status);
      expect(outcomes.filter((o) => o.status === 503).length).toBeGreaterThan(0);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(ANSWER_WITHIN_MS);

      const check = await checkWrites(rig.databaseUrl, ledger, rig.actors, since);
      expect(check).toMatchObject({ lost: 0, phantoms: 0, duplicates: 0, inconsistentRows: 0 });
      expect(check.acknowledged.comment + check.acknowledged.purchase).toBeGreaterThan(0);
    });
  });
});
