/**
 * The one migration command for people and CI:
 *
 *   npm run migrate                 apply every pending migration (to latest)
 *   npm run migrate -- up --to NAME apply pending migrations up to NAME only (no index check)
 *   npm run migrate -- status       applied and pending migrations
 *   npm run migrate -- verify       the index catalog as the latest migration leaves it (exit 1 if not)
 *   npm run migrate -- sql          print the exact SQL of the index migrations
 *   npm run migrate -- sql --schema print the schema migration's DDL
 *   npm run migrate -- down         roll back the newest migration (development)
 *
 * It connects to MIGRATIONS_DATABASE_URL, else DATABASE_URL, else the embedded
 * PGlite under .data/ that `npm start` uses.
 */
import { Config } from "@shop/core/config";
import { Log } from "@shop/core/log";
import {
  indexProblems,
  indexSql,
  logEvent,
  migrateDown,
  migrateToLatest,
  migrationStatus,
  openMigrationDatabase,
  runOptionsFrom,
  schemaSql,
  verifyIndexes,
} from "./runner.ts";

const USAGE = "usage: npm run migrate -- [latest|up [--to NAME]|status|verify|sql [--schema]|down]";

function describeTarget(): string {
  const target = Config.database.migrationsTarget;
  if (target.kind === "pglite") return target.dataDir ? `embedded PGlite at ${target.dataDir}` : "in-memory PGlite";
  return `postgres host ${target.host}`;
}

async function main(argv: string[]): Promise<number> {
  const [command = "latest", ...rest] = argv;
  if (command === "sql") {
    process.stdout.write(rest.includes("--schema") ? schemaSql() : indexSql(runOptionsFrom(Config)));
    return 0;
  }
  if (!["latest", "up", "status", "verify", "down"].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const client = openMigrationDatabase(Config);
  try {
    if (command === "latest" || command === "up") {
      process.stderr.write(`migrating ${describeTarget()}\n`);
      const at = rest.indexOf("--to");
      const upTo = at === -1 ? undefined : rest[at + 1];
      if (at !== -1 && !upTo) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const result = await migrateToLatest(client, runOptionsFrom(Config, { log: logEvent, ...(upTo ? { upTo } : {}) }));
      process.stdout.write(
        result.applied.length
          ? `applied: ${result.applied.join(", ")}\n`
          : `nothing to apply: ${result.status.applied} migrations already applied\n`,
      );
      // The catalog is the latest migration's: a database stopped short of it has other indexes.
      if (result.status.pending > 0) return 0;
      const problems = indexProblems(await verifyIndexes(client));
      if (problems.length) {
        process.stderr.write(`index check failed:\n${problems.map((p) => `  ${p}\n`).join("")}`);
        return 1;
      }
      return 0;
    }
    if (command === "status") {
      const status = await migrationStatus(client);
      for (const m of status.migrations) {
        process.stdout.write(`${m.executed_at ? "applied" : "pending"}  ${m.name}${m.executed_at ? `  (${m.executed_at})` : ""}\n`);
      }
      process.stdout.write(`${status.applied} applied, ${status.pending} pending\n`);
      return 0;
    }
    if (command === "verify") {
      const report = await verifyIndexes(client);
      process.stdout.write(
        `${report.valid.length} valid, ${report.missing.length} missing, ${report.invalid.length} invalid, ` +
          `${report.wrongDefinition.length} wrong definition, ${report.shouldBeGone.length} should be gone\n`,
      );
      const problems = indexProblems(report);
      for (const line of problems) process.stdout.write(`${line}\n`);
      return problems.length ? 1 : 0;
    }
    const rolledBack = await migrateDown(client, runOptionsFrom(Config, { log: logEvent }));
    process.stdout.write(rolledBack ? `rolled back: ${rolledBack}\n` : "nothing to roll back\n");
    return 0;
  } catch (err) {
    Log.error("migration failed", { err });
    process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
