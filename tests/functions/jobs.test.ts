import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Context as LambdaContext } from "aws-lambda";
import { createDatabase, Database } from "@shop/core/db";
import type * as Sweep from "@shop/core/sweep";
import { jobs } from "@shop/functions/routes";
import { createTestDatabase, stopNeonBridge, targets, type TestDatabase } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import * as ox from "../support/outreach-fixtures.ts";
import { testSettings } from "../support/settings.ts";

const logs = captureLogs();

type Handler = (event: unknown, context?: Partial<LambdaContext>) => Promise<Sweep.Result>;

/** A job's handler, loaded by path as Lambda loads it. */
async function handlerOf(file: string): Promise<Handler> {
  const mod = (await import(/* @vite-ignore */ new URL(`../../packages/functions/src/${file}.ts`, import.meta.url).href)) as { handler: Handler };
  return mod.handler;
}

function jobLines() {
  return logs.filter((l) => l.entry.msg === "job");
}

describe("the route table's jobs", () => {
  it("are the four sweeps, each on an EventBridge schedule", () => {
    expect(jobs.map((j) => [j.name, j.file])).toEqual([
      ["cleanup-sessions", "job/cleanup-sessions"],
      ["expire-outreach", "job/expire-outreach"],
      ["expire-quotes", "job/expire-quotes"],
      ["fold-stats", "job/fold-stats"],
    ]);
    for (const job of jobs) expect(job.schedule, job.name).toMatch(/^(rate|cron)\(.+\)$/);
  });
});

describe.each(targets())("a job's Lambda handler on %s", (target) => {
  let db: TestDatabase;
  let rowId: number;
  let sellerId: number;

  beforeAll(async () => {
    // As deployed: a connection per invocation.
    db = await createTestDatabase(target, { settings: { useNullPool: true } });
    Database.setDefault(db.client);
    rowId = (await fx.row((await fx.user()).id)).id;
    sellerId = (await fx.seller()).id;
  });

  afterAll(async () => {
    Database.setDefault(null);
    await db?.drop();
    await stopNeonBridge();
  });

  beforeEach(() => {
    Database.setDefault(db.client);
  });

  it.each(jobs.map((j) => [j.name, j] as const))("runs %s and logs one line: its name, rows touched, batches, duration", async (name, job) => {
    const handler = await handlerOf(job.file);
    // The schedule's event is `{}`.
    const result = await handler({}, { awsRequestId: `req-${name}` });
    expect(result).toMatchObject({ sweep: name, finished: true });
    const lines = jobLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      entry: {
        msg: "job",
        request_id: `req-${name}`,
        job: name,
        touched: result.touched,
        batches: result.batches,
        finished: true,
        duration_ms: expect.any(Number),
        // One statement per batch, nothing else.
        queries: result.batches,
      },
    });
    // The sweep's own line carries the same request id.
    expect(logs.find((l) => l.entry.msg === "sweep")?.entry).toMatchObject({ request_id: `req-${name}`, sweep: name });
  });

  it("takes a batch size from the event of a run by hand", async () => {
    for (let i = 1; i <= 5; i++) await ox.quote(rowId, sellerId, { expiresInDays: -i });
    const handler = await handlerOf("job/expire-quotes");
    expect(await handler({ batch_size: 2 })).toMatchObject({ touched: 5, batches: 3, finished: true });
    expect(jobLines()[0]?.entry).toMatchObject({ job: "expire-quotes", touched: 5, batches: 3, request_id: expect.any(String) });
  });

  it("logs an error and fails the invocation when the event is invalid", async () => {
    const handler = await handlerOf("job/expire-outreach");
    await expect(handler({ batch_size: 0 })).rejects.toThrow();
    expect(jobLines()).toEqual([
      expect.objectContaining({ level: "error", entry: expect.objectContaining({ job: "expire-outreach", error: expect.any(String), stack: expect.any(String) }) }),
    ]);
  });

  it("logs an error and fails the invocation when the database cannot be reached", async () => {
    const unreachable = createDatabase(testSettings({ useNullPool: true, poolTimeoutMs: 2000 }), {
      target: { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none", host: "127.0.0.1", neon: false },
    });
    Database.setDefault(unreachable);
    try {
      const handler = await handlerOf("job/cleanup-sessions");
      await expect(handler({})).rejects.toMatchObject({ name: "DatabaseUnavailableError" });
      expect(jobLines()).toEqual([
        expect.objectContaining({ level: "error", entry: expect.objectContaining({ job: "cleanup-sessions", error_code: "database_unavailable" }) }),
      ]);
    } finally {
      Database.setDefault(db.client);
      await unreachable.close();
    }
  });
});
