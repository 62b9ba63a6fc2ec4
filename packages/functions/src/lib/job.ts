import { randomUUID } from "node:crypto";
import type { Context as LambdaContext } from "aws-lambda";
import * as z from "zod";
import { Context } from "@shop/core/context";
import { Database, type ScopeStats } from "@shop/core/db";
import { Log } from "@shop/core/log";
import * as Sweep from "@shop/core/sweep";

/**
 * The one wrapper every scheduled job goes through, as `api()` is for routes:
 * a request id, the database scope (in Lambda, one connection for the run,
 * closed before the invocation ends), one log line with what the job did,
 * and errors logged and rethrown, so the invocation fails and shows as an
 * error in Lambda's metrics.
 */

/**
 * What an invocation may carry. The schedule sends `{}`; a run by hand
 * (`npm run job`, or `aws lambda invoke`) may set the batch size.
 */
const Event = z.object({ batch_size: Sweep.BatchSize.optional() });

/** Builds a job's Lambda handler from its name (as in the route table's `jobs`) and its sweep. */
export function job(name: string, run: (options: Sweep.Options) => Promise<Sweep.Result>) {
  return async (event: unknown, context?: Partial<LambdaContext>): Promise<Sweep.Result> => {
    const started = performance.now();
    const ctx = { requestId: context?.awsRequestId || randomUUID(), userId: null };
    let stats: ScopeStats | null = null;
    const timing = () => ({
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      queries: stats?.queries ?? 0,
      query_ms: Math.round((stats?.queryMs ?? 0) * 100) / 100,
    });
    return Context.run(ctx, async () => {
      try {
        const { batch_size } = Event.parse(event ?? {});
        const result = await Database.use(async () => {
          try {
            return await run(batch_size === undefined ? {} : { batchSize: batch_size });
          } finally {
            stats = Database.scopeStats();
          }
        });
        Log.info("job", { job: name, touched: result.touched, batches: result.batches, finished: result.finished, ...timing() });
        return result;
      } catch (err) {
        Log.error("job", { job: name, ...timing(), err });
        throw err;
      }
    });
  };
}
