import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDatabase, openPGlite } from "@shop/core/db";
import { migrateToLatest } from "@shop/migrations/runner";
import { testConfig, testSettings } from "./settings.ts";
import "./context.ts";

/**
 * Runs once per `vitest run`: builds the databases tests copy from, so that no
 * test file pays for initdb or migrations.
 *
 * - PGlite: dumps of an empty and a migrated data directory (loading one takes
 *   a fraction of a second; initdb takes seconds).
 * - TEST_DATABASE_URL (CI always sets it): checks the server answers, then
 *   migrates a template database that each test file clones with
 *   CREATE DATABASE ... TEMPLATE. Everything this run creates is dropped at the end.
 */

const runOptions = { lockTimeoutMs: testConfig.migration.lockTimeoutMs, maxAttempts: 3 };

async function pgliteDumps(dir: string) {
  const pglite = await openPGlite(null);
  const empty = join(dir, "empty.tar");
  writeFileSync(empty, Buffer.from(await (await pglite.dumpDataDir("none")).arrayBuffer()));
  const client = createDatabase(testSettings(), { pglite });
  await migrateToLatest(client, runOptions);
  await client.close();
  const migrated = join(dir, "migrated.tar");
  writeFileSync(migrated, Buffer.from(await (await pglite.dumpDataDir("none")).arrayBuffer()));
  await pglite.close();
  return { empty, migrated };
}

export async function withAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function dropRunDatabases(serverUrl: string, prefix: string) {
  await withAdmin(serverUrl, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1",
      [`${prefix}%`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "shop-test-"));
  const dumps = await pgliteDumps(dir);
  project.provide("pgliteEmptyDump", dumps.empty);
  project.provide("pgliteMigratedDump", dumps.migrated);

  const serverUrl = process.env.TEST_DATABASE_URL ?? "";
  const runPrefix = `shop_t${process.pid}_`;
  project.provide("serverUrl", serverUrl);
  project.provide("runPrefix", runPrefix);
  project.provide("serverTemplate", "");
  if (serverUrl) {
    try {
      await withAdmin(serverUrl, (admin) => admin.query("SELECT 1"));
    } catch (err) {
      throw new Error(
        `TEST_DATABASE_URL is set but the server does not answer (${(err as Error).message}); ` +
          "start it or unset TEST_DATABASE_URL to run on embedded PGlite only",
      );
    }
    const template = `${runPrefix}template`;
    await withAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE "${template}"`));
    const client = createDatabase(testSettings({ driver: "pg" }), {
      target: { kind: "postgres", url: databaseUrl(serverUrl, template), host: "server", neon: false },
    });
    await migrateToLatest(client, runOptions);
    await client.close();
    project.provide("serverTemplate", template);
  }

  return async () => {
    if (serverUrl) await dropRunDatabases(serverUrl, runPrefix);
    rmSync(dir, { recursive: true, force: true });
  };
}
