import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { catalog, migrations } from "@shop/migrations/migrations/index";

const dir = mkdtempSync(join(tmpdir(), "shop-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function migrate(...args: string[]) {
  return spawnSync(process.execPath, ["packages/migrations/src/cli.ts", ...args], {
    env: { ...process.env, DATABASE_URL: `pglite:${join(dir, "db")}`, NODE_ENV: "test" },
    encoding: "utf8",
  });
}

describe("npm run migrate", () => {
  it("prints the exact SQL of the index migrations for review, every catalog index built concurrently behind a lock timeout", () => {
    const run = migrate("sql");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^SET lock_timeout = '5000ms';$/m);
    expect(run.stdout).toMatch(/^SET statement_timeout = 0;$/m);
    for (const spec of catalog) {
      expect(run.stdout).toContain(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${spec.name} ON `);
      expect(run.stdout).toContain(`-- if INVALID: DROP INDEX CONCURRENTLY IF EXISTS ${spec.name};`);
    }
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

  it("rejects an unknown command with usage and exit code 2", () => {
    const run = migrate("sideways");
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("usage: npm run migrate --");
  });
});

describe("npm run lint:sql", () => {
  it("passes squawk's migration linter on the index SQL", () => {
    const run = spawnSync("npm", ["run", "--silent", "lint:sql"], { encoding: "utf8" });
    expect(run.stdout + run.stderr).toContain("Found 0 issues");
    expect(run.status).toBe(0);
  });
});
