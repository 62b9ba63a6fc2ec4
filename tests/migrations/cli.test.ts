import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openPGlite } from "@shop/core/db";
import { indexes as performanceIndexes } from "@shop/migrations/migrations/0002_add_performance_indexes";
import * as fitIndexes from "@shop/migrations/migrations/0004_fit_indexes_to_queries";
import { catalog, migrations } from "@shop/migrations/migrations/index";

const dir = mkdtempSync(join(tmpdir(), "shop-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function migrate(...args: string[]) {
  return migrateAt("db", ...args);
}

function migrateAt(db: string, ...args: string[]) {
  return spawnSync(process.execPath, ["packages/migrations/src/cli.ts", ...args], {
    env: { ...process.env, DATABASE_URL: `pglite:${join(dir, db)}`, NODE_ENV: "test" },
    encoding: "utf8",
  });
}

describe("npm run migrate", () => {
  it("prints the exact SQL of every index migration for review, each statement concurrent behind a lock timeout", () => {
    const run = migrate("sql");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^SET lock_timeout = '5000ms';$/m);
    expect(run.stdout).toMatch(/^SET statement_timeout = 0;$/m);
    const [, created, fitted] = run.stdout.split(/^-- (?:0002_add_performance_indexes|0004_fit_indexes_to_queries)$/m);
    for (const spec of performanceIndexes) {
      expect(created).toContain(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${spec.name} ON `);
      expect(created).toContain(`-- if INVALID: DROP INDEX CONCURRENTLY IF EXISTS ${spec.name};`);
    }
    for (const change of fitIndexes.changes) {
      const statements =
        change.op === "drop"
          ? [`DROP INDEX CONCURRENTLY IF EXISTS ${change.name};`]
          : change.op === "create"
            ? [`INDEX CONCURRENTLY IF NOT EXISTS ${change.name} ON `]
            : [
                `INDEX CONCURRENTLY IF NOT EXISTS ${change.name}__new ON `,
                `DROP INDEX CONCURRENTLY IF EXISTS ${change.name};\nALTER INDEX IF EXISTS ${change.name}__new RENAME TO ${change.name};`,
              ];
      for (const statement of statements) expect(fitted).toContain(statement);
    }
    expect(fitted).toContain(
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix_auth_session_token_active__new ON auth_session (token_hash) WHERE (revoked_at IS NULL);",
    );
    expect(run.stdout).not.toMatch(/BEGIN/i);
  });

  it("migrates, reports status, verifies indexes, and is a no-op the second time", () => {
    const first = migrate();
    expect(first.stderr).toContain("migrating embedded PGlite at");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`applied: ${migrations.map((m) => m.name).join(", ")}`);

    const second = migrate("latest");
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`nothing to apply: ${migrations.length} migrations already applied`);

    const status = migrate("status");
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^applied {2}0001_schema {2}\(\d{4}-/m);
    expect(status.stdout).toContain(`${migrations.length} applied, 0 pending`);

    const verify = migrate("verify");
    expect(verify.status).toBe(0);
    expect(verify.stdout).toBe(`${catalog.length} valid, 0 missing, 0 invalid, 0 wrong definition, 0 should be gone\n`);
  });

  it("fails verify and migrate, naming each problem, when the catalog is not as the latest migration leaves it", async () => {
    const pglite = await openPGlite(join(dir, "db"));
    await pglite.exec(`
      drop index ix_comment_bid_id;
      drop index ix_row_user_id;
      create index ix_row_user_id on "row" (user_id);
      create index ix_bid_row_id on bid (row_id);`);
    await pglite.close();

    const verify = migrate("verify");
    expect(verify.status).toBe(1);
    expect(verify.stdout).toBe(
      `${catalog.length - 2} valid, 1 missing, 0 invalid, 1 wrong definition, 1 should be gone\n` +
        "missing           ix_comment_bid_id\n" +
        'wrong definition  ix_row_user_id: is "ON row USING btree (user_id)", expected "ON row USING btree (user_id, created_at, id)"\n' +
        "should be gone    ix_bid_row_id\n",
    );

    const latest = migrate();
    expect(latest.status).toBe(1);
    expect(latest.stderr).toContain("index check failed:\n  missing           ix_comment_bid_id\n");
  });

  it("stops at the migration --to names, and goes on from there", () => {
    const partial = migrateAt("partial", "up", "--to", "0003_row_selected_bid");
    expect(partial.status).toBe(0);
    expect(partial.stdout).toContain("applied: 0001_schema, 0002_add_performance_indexes, 0003_row_selected_bid\n");
    expect(migrateAt("partial", "status").stdout).toContain(`3 applied, ${migrations.length - 3} pending`);
    expect(migrateAt("partial", "up", "--to", "0003_row_selected_bid").stdout).toContain("nothing to apply: 3 migrations already applied");
    const rest = migrateAt("partial");
    expect(rest.status).toBe(0);
    expect(rest.stdout).toContain(`applied: ${migrations.slice(3).map((m) => m.name).join(", ")}\n`);
    const unknown = migrateAt("partial", "up", "--to", "0099_nothing");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('unknown migration "0099_nothing"');
  }, 180_000); // five CLI runs, each migrating PGlite: minutes on a busy machine

  it("rejects an unknown command with usage and exit code 2", () => {
    const run = migrate("sideways");
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("usage: npm run migrate --");
  });
});

describe("npm run lint:sql", () => {
  it("passes squawk's migration linter on every index migration's SQL", () => {
    const run = spawnSync("npm", ["run", "--silent", "lint:sql"], { encoding: "utf8" });
    expect(run.stdout + run.stderr).toContain("Found 0 issues");
    expect(run.status).toBe(0);
  });
});
