import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, directNeonUrl, parseConfig } from "@shop/core/config";

function fails(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected parseConfig to throw");
}

describe("config", () => {
  it("uses the guide's development defaults when nothing is set", () => {
    expect(parseConfig({}).database).toMatchObject({
      target: { kind: "pglite", dataDir: ".data/pglite" },
      poolSize: 5,
      maxOverflow: 5,
      poolTimeoutMs: 30_000,
      poolRecycleMs: 3_600_000,
      prePing: true,
      useNullPool: false,
      echo: false,
      slowQueryLogging: false,
      slowQueryThresholdMs: 1000,
    });
  });

  it("uses the guide's production pool sizes under NODE_ENV=production", () => {
    const config = parseConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://u:p@db.example.com/app" });
    expect(config.database).toMatchObject({ poolSize: 20, maxOverflow: 10, useNullPool: false });
  });

  it("defaults to NullPool inside Lambda and lets DB_USE_NULL_POOL override it", () => {
    expect(parseConfig({ AWS_LAMBDA_FUNCTION_NAME: "api" }).database.useNullPool).toBe(true);
    expect(parseConfig({ AWS_LAMBDA_FUNCTION_NAME: "api", DB_USE_NULL_POOL: "false" }).database.useNullPool).toBe(false);
    expect(parseConfig({ DB_USE_NULL_POOL: "true" }).database.useNullPool).toBe(true);
  });

  it("reads every pool and logging setting", () => {
    const config = parseConfig({
      DB_POOL_SIZE: "30",
      DB_MAX_OVERFLOW: "20",
      DB_POOL_TIMEOUT: "10",
      DB_POOL_RECYCLE: "1800",
      DB_POOL_PRE_PING: "off",
      DB_ECHO: "1",
      DB_ENABLE_QUERY_LOGGING: "yes",
      DB_SLOW_QUERY_THRESHOLD: "0.25",
    });
    expect(config.database).toMatchObject({
      poolSize: 30,
      maxOverflow: 20,
      poolTimeoutMs: 10_000,
      poolRecycleMs: 1_800_000,
      prePing: false,
      echo: true,
      slowQueryLogging: true,
      slowQueryThresholdMs: 250,
    });
  });

  it("reads booleans as 1/true/yes/on or 0/false/no/off in any case, and nothing else", () => {
    for (const raw of ["1", "true", "YES", " On "]) expect(parseConfig({ DB_ECHO: raw }).database.echo).toBe(true);
    for (const raw of ["0", "False", "no", "OFF"]) expect(parseConfig({ DB_ECHO: raw }).database.echo).toBe(false);
    for (const raw of ["y", "n", "enabled", "disabled"]) expect(fails({ DB_ECHO: raw })).toMatch(/^DB_ECHO must be true or false/);
  });

  it("treats empty values as unset", () => {
    expect(parseConfig({ DB_POOL_SIZE: "", DATABASE_URL: " " }).database).toMatchObject({
      poolSize: 5,
      target: { kind: "pglite" },
    });
  });

  it.each([
    [{ DB_POOL_SIZE: "abc" }, /^DB_POOL_SIZE must be an integer >= 1 \(got "abc"\)$/],
    [{ DB_POOL_SIZE: "0" }, /^DB_POOL_SIZE must be an integer >= 1/],
    [{ DB_MAX_OVERFLOW: "-1" }, /^DB_MAX_OVERFLOW must be an integer >= 0/],
    [{ DB_POOL_TIMEOUT: "-5" }, /^DB_POOL_TIMEOUT must be a number of seconds > 0 \(got "-5"\)$/],
    [{ DB_POOL_TIMEOUT: "0" }, /^DB_POOL_TIMEOUT must be a number of seconds > 0/],
    [{ DB_POOL_RECYCLE: "soon" }, /^DB_POOL_RECYCLE must be a number of seconds >= 0/],
    [{ DB_POOL_PRE_PING: "maybe" }, /^DB_POOL_PRE_PING must be true or false \(got "maybe"\)$/],
    [{ DB_USE_NULL_POOL: "2" }, /^DB_USE_NULL_POOL must be true or false/],
    [{ DB_ECHO: "loud" }, /^DB_ECHO must be true or false/],
    [{ DB_ENABLE_QUERY_LOGGING: "y e s" }, /^DB_ENABLE_QUERY_LOGGING must be true or false/],
    [{ DB_SLOW_QUERY_THRESHOLD: "-0.1" }, /^DB_SLOW_QUERY_THRESHOLD must be a number of seconds >= 0/],
    [{ DATABASE_URL: "not a url" }, /^DATABASE_URL must be a postgres:\/\/, postgresql:\/\/, pglite:<dir> or memory: URL/],
    [{ DATABASE_URL: "mysql://u@h/db" }, /^DATABASE_URL must be .* \(got scheme "mysql:"\)$/],
    [{ MIGRATIONS_DATABASE_URL: "http://x" }, /^MIGRATIONS_DATABASE_URL must be/],
    [{ NODE_ENV: "staging" }, /^NODE_ENV: /],
    [{ DB_DRIVER: "mysql" }, /^DB_DRIVER: /],
  ])("rejects %o with one line naming the variable", (env, message) => {
    const text = fails(env as Record<string, string>);
    expect(text).toMatch(message);
    expect(text).not.toContain("\n");
  });

  it("stops the process at start with one line on stderr when a value is bad", () => {
    const child = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", 'await import("@shop/core/config"); console.log("started")'],
      { env: { ...process.env, DB_POOL_SIZE: "abc" }, encoding: "utf8" },
    );
    expect(child.status).toBe(1);
    expect(child.stdout).not.toContain("started");
    expect(child.stderr).toBe('config error: DB_POOL_SIZE must be an integer >= 1 (got "abc")\n');
  });

  it("recognises embedded targets: unset, pglite:<dir> and memory:", () => {
    expect(parseConfig({ DATABASE_URL: "pglite:./tmp/db" }).database.target).toEqual({ kind: "pglite", dataDir: "./tmp/db" });
    expect(parseConfig({ DATABASE_URL: "memory:" }).database.target).toEqual({ kind: "pglite", dataDir: null });
  });

  it("recognises Neon hosts and sends migrations to the direct host, not the pooler", () => {
    const pooled = "postgresql://app:secret@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require";
    const config = parseConfig({ DATABASE_URL: pooled });
    expect(config.database.target).toMatchObject({ kind: "postgres", neon: true });
    expect(config.database.migrationsTarget).toMatchObject({
      kind: "postgres",
      url: "postgresql://app:secret@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require",
    });
    expect(directNeonUrl("postgres://u@db.example.com/x")).toBe("postgres://u@db.example.com/x");
  });

  it("uses MIGRATIONS_DATABASE_URL as given when it is set", () => {
    const config = parseConfig({
      DATABASE_URL: "postgres://u@ep-a-pooler.eu-central-1.aws.neon.tech/db",
      MIGRATIONS_DATABASE_URL: "postgres://owner@ep-a.eu-central-1.aws.neon.tech/db",
    });
    expect(config.database.migrationsTarget).toMatchObject({ url: "postgres://owner@ep-a.eu-central-1.aws.neon.tech/db" });
  });

  it("refuses a driver that cannot reach the target", () => {
    expect(fails({ DB_DRIVER: "neon" })).toMatch(/^DB_DRIVER=neon needs DATABASE_URL to be a postgres:\/\/ URL$/);
    expect(fails({ DB_DRIVER: "pglite", DATABASE_URL: "postgres://h/db" })).toMatch(/^DB_DRIVER=pglite needs/);
  });
});
