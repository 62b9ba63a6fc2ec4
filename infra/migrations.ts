import { databaseUrl, migrationsDatabaseUrl } from "./database.ts";
import { functionDefaults } from "./function.ts";

/**
 * Migrations run inside every deploy, before new code takes traffic.
 *
 * The migrator Lambda (packages/migrations/src/handler.ts) runs the same code as
 * `npm run migrate`. It **throws** on any failure, so Lambda reports a function
 * error, the Invocation below fails, and with it the deploy: a migration error must
 * never leave a deploy green while the schema lags behind the code. Because the
 * routes wait for the Invocation (infra/api.ts), a failed migration also means the
 * new handlers are not rolled out: the old code keeps serving the old schema.
 *
 * Index builds on big tables can outlast Lambda's 15 minutes: the handler stops
 * 30 s before its deadline and fails the deploy with "run again to resume"; the
 * next deploy invokes it again and it carries on (finished indexes are kept).
 */

export const migrator = new sst.aws.Function("Migrator", {
  ...functionDefaults(
    // Lambda's maximum: the runner tracks this deadline itself.
    { memory: 1024, timeout: 15 * 60 },
    // Empty unless the MigrationsDatabaseUrl secret is set; then config derives the
    // direct URL from DATABASE_URL (see infra/database.ts).
    { MIGRATIONS_DATABASE_URL: migrationsDatabaseUrl.value },
  ),
  handler: "packages/migrations/src/handler.handler",
  link: [databaseUrl, migrationsDatabaseUrl],
  description: "Applies pending database migrations; invoked by every deploy",
});

/**
 * Invokes the migrator synchronously during `sst deploy`.
 *
 * An Invocation runs only when it is created or replaced, and any change to
 * `triggers` replaces it; a trigger that differs on every run (the deploy's start
 * time) therefore runs the migrator on **every** deploy, not only when its code
 * changes. That matters: a run that stopped at Lambda's deadline, or an INVALID
 * index left by an interrupted build, is repaired by the next run even if nothing
 * changed. Applying twice is a no-op, so the extra runs are cheap.
 *
 * Skipped in `sst dev`: functions run on the developer's machine there, every
 * config change would re-run it, and a developer migrates with `npm run migrate`.
 */
export const migration = $dev
  ? undefined
  : new aws.lambda.Invocation(
      "MigratorInvocation",
      {
        functionName: migrator.name,
        input: JSON.stringify({ stage: $app.stage }),
        triggers: { deployedAt: new Date().toISOString() },
      },
      // The function (code and settings) must be updated before it is invoked, or
      // the deploy would run the previous release's migrations.
      { dependsOn: [migrator] },
    );
