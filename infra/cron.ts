import { jobs, type Job } from "../packages/functions/src/routes.ts";
import { functionDefaults } from "./function.ts";
import { migration } from "./migrations.ts";

/**
 * One scheduled Lambda per entry of `jobs` in the route table: the sweeps
 * (packages/functions/src/job/*), each a bounded run (30 s budget) that is
 * safe to overlap with another, so the schedule needs no locking of its own.
 *
 * CronV2 rather than Cron: SST 4 deprecates `sst.aws.Cron` (EventBridge rules) in
 * favour of `CronV2` (EventBridge Scheduler), which adds time zones and retries.
 */

type Schedule = `rate(${string})` | `cron(${string})` | `at(${string})`;

/** Narrows a job's schedule to what EventBridge Scheduler accepts, at deploy time rather than at the first missed run. */
export function schedule(job: Job): Schedule {
  const s = job.schedule.trim();
  if (/^(rate|cron|at)\(.+\)$/.test(s)) return s as Schedule;
  throw new Error(`job ${job.name}: schedule must be rate(...), cron(...) or at(...) (got "${job.schedule}")`);
}

/** "cleanup-sessions" → "CleanupSessionsCron": SST component names are PascalCase letters and digits. */
export function cronName(job: Job): string {
  const pascal = job.name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  return `${pascal}Cron`;
}

export const crons = jobs.map(
  (job) =>
    new sst.aws.CronV2(
      cronName(job),
      {
        schedule: schedule(job),
        // The sweeps run bounded batches: a minute is plenty, and they are idempotent.
        function: { ...functionDefaults({ timeout: 60 }), handler: `packages/functions/src/${job.file}.handler` },
      },
      // Like the API routes, a job's new code waits for this deploy's migrations; its
      // function is a child of the component, so it waits too.
      migration ? { dependsOn: [migration] } : undefined,
    ),
);
