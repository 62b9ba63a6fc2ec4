import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { openPGlite } from "@shop/core/db";
import { runScript } from "../support/cli.ts";
import { createTestDatabase, type TargetName, type TestDatabase } from "../support/db.ts";

/**
 * `npm run job -- <name> [--batch-size N]`, run as a child process against
 * DATABASE_URL: embedded PGlite in a directory, and the server through `pg`.
 */

const runJob = (env: Record<string, string>, ...args: string[]) => runScript("packages/functions/src/local/run-job.ts", env, args);

/** Five pending quotes past their expiry and one still valid, on a fresh row. */
const SEED = `
  insert into "user" (email) values ('cli@example.com');
  insert into seller (name) values ('Acme');
  insert into "row" (user_id, title) select id, 'a desk' from "user";
  insert into seller_quote (row_id, seller_id, token, token_expires_at)
    select r.id, s.id, md5(g::text) || md5((-g)::text), now() + make_interval(days => case when g = 6 then 1 else -g end)
    from "row" r, seller s, generate_series(1, 6) g;`;
const STATUSES = "select status, count(*)::int as n from seller_quote group by status order by status";

interface Target {
  env: Record<string, string>;
  /** Runs SQL on the database while no job runs (PGlite is single-process). */
  query(text: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "shop-job-cli-"));
  const dataDir = join(dir, "db");
  const dump = readFileSync(inject("pgliteMigratedDump"));
  await (await openPGlite(dataDir, { loadDataDir: new Blob([dump]) })).close();
  return {
    env: { DATABASE_URL: `pglite:${dataDir}` },
    async query(text) {
      const pglite = await openPGlite(dataDir);
      try {
        const results = await pglite.exec(text);
        return results.at(-1)?.rows ?? [];
      } finally {
        await pglite.close();
      }
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function serverTarget(): Promise<Target> {
  const db: TestDatabase = await createTestDatabase("postgres");
  return {
    env: { DATABASE_URL: db.url! },
    async query(text) {
      const client = new pg.Client({ connectionString: db.url! });
      await client.connect();
      try {
        const results = await client.query(text);
        return (Array.isArray(results) ? results.at(-1) : results)?.rows ?? [];
      } finally {
        await client.end();
      }
    },
    close: () => db.drop(),
  };
}

const cliTargets: TargetName[] = inject("serverUrl") ? ["pglite", "postgres"] : ["pglite"];

describe.each(cliTargets)("npm run job on %s", (name) => {
  let target: Target;

  beforeAll(async () => {
    target = name === "pglite" ? await pgliteTarget() : await serverTarget();
    await target.query(SEED);
  });

  afterAll(async () => {
    await target?.close();
  });

  it("runs the job in batches of the size asked for and prints what it did", async () => {
    const run = await runJob(target.env, "expire-quotes", "--batch-size", "2");
    expect(run.stderr).toContain(`running expire-quotes on ${name === "pglite" ? "embedded PGlite at" : "postgres host 127.0.0.1"}`);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^expire-quotes: 5 rows touched in 3 batches, [\d.]+ ms; finished\n$/);
    // The handler's log line goes to stderr, beside the sweep's.
    const job = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "job");
    expect(job).toMatchObject({ job: "expire-quotes", touched: 5, batches: 3, finished: true });
    expect(await target.query(STATUSES)).toEqual([
      { status: "expired", n: 5 },
      { status: "pending", n: 1 },
    ]);
  });

  it("touches nothing the second time", async () => {
    const run = await runJob(target.env, "expire-quotes");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^expire-quotes: 0 rows touched in 1 batch, [\d.]+ ms; finished\n$/);
  });
});

describe("npm run job, misused", () => {
  const env = { DATABASE_URL: "pglite:memory:" };
  const usage = "usage: npm run job -- <cleanup-sessions|expire-outreach|expire-quotes|fold-stats> [--batch-size N]\n";

  it("prints the usage and exits 2 for an unknown job or none", async () => {
    const unknown = await runJob(env, "expire-everything");
    expect(unknown).toEqual({ status: 2, stdout: "", stderr: `unknown job: expire-everything\n${usage}` });
    expect(await runJob(env)).toEqual({ status: 2, stdout: "", stderr: usage });
  });

  it("exits 2 for a batch size that is not 1 to 10,000, or an unknown option", async () => {
    for (const size of ["0", "1.5", "10001", "many"]) {
      expect(await runJob(env, "expire-quotes", "--batch-size", size)).toEqual({
        status: 2,
        stdout: "",
        stderr: `--batch-size must be a whole number from 1 to 10000\n${usage}`,
      });
    }
    const unknown = await runJob(env, "expire-quotes", "--budget", "1");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain(usage);
  });

  it("exits 1 and says why when the job fails", async () => {
    const run = await runJob({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", DB_POOL_TIMEOUT: "2" }, "cleanup-sessions");
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^cleanup-sessions failed: .+$/m);
  });
});
