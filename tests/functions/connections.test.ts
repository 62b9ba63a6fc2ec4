import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { call, useApiDatabase } from "../support/api.ts";
import { serverTargets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

captureLogs();

/**
 * Per-request mode is what Lambda runs, and Lambda freezes the process the
 * moment the handler answers: a close still in flight would leave the
 * server-side connection open until a timeout. So the connection must be gone
 * on the server when the response is out, not some time later.
 */
// A server-only file: without TEST_DATABASE_URL its one suite is skipped, not missing.
describe.runIf(serverTargets().length > 0)("per-request connections", () =>
  describe.each(serverTargets())("on %s", (target) => {
  const api = useApiDatabase(target);
  let side: pg.Client;

  beforeAll(async () => {
    // Opened first, so the check right after a response costs one query and no connect.
    side = new pg.Client({ connectionString: api.url()! });
    await side.connect();
  });
  afterAll(() => side.end());

  async function appConnections(): Promise<number> {
    const { rows } = await side.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    return rows[0]!.n;
  }

  it("leaves no connection on the server once the response is out, whatever the answer", async () => {
    const user = await fx.user();
    const row = await fx.row(user.id);
    expect(await appConnections()).toBe(0);
    for (const [method, url, status] of [
      ["GET", "/api/rows", 200],
      ["GET", `/api/rows/${row.id}`, 200],
      ["GET", "/api/rows/999999999", 404],
      ["POST", "/api/rows", 400],
      ["GET", "/api/me", 200],
    ] as const) {
      const res = await call(method, url, { token: user.token, ...(method === "POST" ? { body: { title: "" } } : {}) });
      expect(res.status, `${method} ${url}`).toBe(status);
      expect(await appConnections(), `${method} ${url}`).toBe(0);
    }
  });
}),
);
