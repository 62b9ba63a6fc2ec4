import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { PGlite } from "@electric-sql/pglite";
import type { DatabaseConfig } from "@shop/core/config";
import { createDatabase, openPGlite, type ClientOverrides, type DatabaseClient } from "@shop/core/db";
import { databaseUrl, withAdmin } from "./global-setup.ts";
import { startNeonBridge, type NeonBridge } from "./neon-bridge.ts";
import { testSettings } from "./settings.ts";
import "./context.ts";

/**
 * Real databases for tests, never mocks.
 *
 * - `pglite`: embedded PGlite, always available (`npm test` needs nothing else).
 * - `postgres`: a fresh database on TEST_DATABASE_URL's server, through `pg`.
 * - `neon`: the same, through the Neon serverless driver and a local
 *   WebSocket-to-TCP bridge (the production driver's code path).
 */

/** Client options beyond settings: log capture, pool internals. */
type ClientExtras = Pick<ClientOverrides, "writeLog" | "prePingBypassMs" | "observe">;

export type TargetName = "pglite" | "postgres" | "neon";

/** Targets this run can use: PGlite always, the server ones when TEST_DATABASE_URL is set. */
export function targets(): TargetName[] {
  return inject("serverUrl") ? ["pglite", "postgres", "neon"] : ["pglite"];
}

/** Server targets only (empty without TEST_DATABASE_URL). */
export function serverTargets(): TargetName[] {
  return targets().filter((t) => t !== "pglite");
}

export interface TestDatabase {
  target: TargetName;
  /** The database client under test, with the settings asked for. */
  client: DatabaseClient;
  /** Another client on the same database (different settings, a second process's view). */
  open(overrides?: Partial<DatabaseConfig>, options?: ClientExtras): DatabaseClient;
  /** A plain `pg` URL for side-channel checks (server targets only). */
  url: string | null;
  pglite: PGlite | null;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  migrated?: boolean;
  settings?: Partial<DatabaseConfig>;
  extras?: ClientExtras;
}

let bridge: Promise<NeonBridge> | null = null;

function neonBridge(serverUrl: string): Promise<NeonBridge> {
  const url = new URL(serverUrl);
  bridge ??= startNeonBridge({ host: url.hostname, port: Number(url.port || 5432) });
  return bridge;
}

/** Stops this file's Neon bridge, if one was started (call from afterAll). */
export async function stopNeonBridge(): Promise<void> {
  const b = bridge;
  bridge = null;
  if (b) await (await b).close();
}

type Opener = (overrides?: Partial<DatabaseConfig>, extra?: ClientExtras) => DatabaseClient;

/** Wraps an opener so every client it makes is closed before the database goes away. */
function testDatabase(
  fields: Pick<TestDatabase, "target" | "url" | "pglite">,
  open: Opener,
  options: TestDatabaseOptions,
  dispose: () => Promise<void>,
): TestDatabase {
  const opened: DatabaseClient[] = [];
  const track: Opener = (o, e) => {
    const c = open(o, e);
    opened.push(c);
    return c;
  };
  return {
    ...fields,
    client: track({}, options.extras ?? {}),
    open: track,
    drop: async () => {
      for (const c of opened) await c.close();
      await dispose();
    },
  };
}

export async function createTestDatabase(target: TargetName, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  if (target === "pglite") {
    const dump = readFileSync(inject(migrated ? "pgliteMigratedDump" : "pgliteEmptyDump"));
    const pglite = await openPGlite(null, { loadDataDir: new Blob([dump]) });
    const open: Opener = (overrides = {}, extra = {}) =>
      createDatabase(testSettings({ ...options.settings, ...overrides }), { pglite, ...extra });
    return testDatabase({ target, url: null, pglite }, open, options, () => pglite.close());
  }

  const serverUrl = inject("serverUrl");
  if (!serverUrl) throw new Error(`target ${target} needs TEST_DATABASE_URL`);
  const name = `${inject("runPrefix")}${randomBytes(6).toString("hex")}`;
  const template = migrated ? inject("serverTemplate") : "template0";
  await withAdmin(serverUrl, async (admin) => {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    // A template's own settings (ALTER DATABASE ... SET, which a migration may make) are not copied with it.
    const { rows } = await admin.query<{ setting: string }>(
      "select unnest(setconfig) as setting from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase where d.datname = $1 and s.setrole = 0",
      [template],
    );
    for (const { setting } of rows) {
      const [key, ...value] = setting.split("=");
      await admin.query(`ALTER DATABASE "${name}" SET ${key} = '${value.join("=")}'`);
    }
  });
  const url = databaseUrl(serverUrl, name);
  const proxy = target === "neon" ? (await neonBridge(serverUrl)).proxy : null;
  const open: Opener = (overrides = {}, extra = {}) =>
    createDatabase(
      testSettings({ driver: target === "neon" ? "neon" : "pg", neonWsProxy: proxy, ...options.settings, ...overrides }),
      { target: { kind: "postgres", url, host: new URL(url).hostname, neon: false }, ...extra },
    );
  return testDatabase({ target, url, pglite: null }, open, options, () =>
    withAdmin(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  );
}
