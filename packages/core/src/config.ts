import * as z from "zod";

/**
 * Every setting of the service, parsed once from the environment.
 *
 * Names, meanings and defaults follow the reference system (the SQLAlchemy
 * original); docs/configuration.md documents each one and what it maps to in
 * our drivers. This is the only module that reads `process.env`.
 */

/** A boolean setting: 1/true/yes/on or 0/false/no/off, any case (not stringbool's extra y/n/enabled/disabled). */
const bool = (name: string) =>
  z
    .string()
    .trim()
    .pipe(
      z.stringbool({
        truthy: ["1", "true", "yes", "on"],
        falsy: ["0", "false", "no", "off"],
        error: (issue) => `${name} must be true or false (got "${String(issue.input)}")`,
      }),
    );

const int = (name: string, min: number) =>
  z.string().transform((raw, ctx) => {
    const v = raw.trim();
    if (!/^-?\d+$/.test(v) || Number(v) < min) {
      ctx.addIssue({
        code: "custom",
        message: `${name} must be an integer >= ${min} (got "${raw}")`,
      });
      return z.NEVER;
    }
    return Number(v);
  });

const seconds = (name: string, opts: { allowZero: boolean }) =>
  z.string().transform((raw, ctx) => {
    const v = raw.trim();
    const n = Number(v);
    if (v === "" || !Number.isFinite(n) || n < 0 || (!opts.allowZero && n === 0)) {
      ctx.addIssue({
        code: "custom",
        message: `${name} must be a number of seconds ${opts.allowZero ? ">= 0" : "> 0"} (got "${raw}")`,
      });
      return z.NEVER;
    }
    return n;
  });

/** Where a database URL points: a Postgres server, or embedded PGlite (a directory or memory). */
export type DatabaseTarget =
  | { kind: "postgres"; url: string; host: string; neon: boolean }
  | { kind: "pglite"; dataDir: string | null };

const DEFAULT_PGLITE_DIR = ".data/pglite";

/** Parses a DATABASE_URL-style value; unset means the embedded default. */
function parseDatabaseUrl(raw: string | undefined, name = "DATABASE_URL"): DatabaseTarget {
  const value = raw?.trim();
  if (!value) return { kind: "pglite", dataDir: DEFAULT_PGLITE_DIR };
  if (value === "memory:" || value === "memory://" || value === "pglite:memory" || value === "pglite://memory") {
    return { kind: "pglite", dataDir: null };
  }
  if (value.startsWith("pglite:")) {
    const dir = value.slice("pglite:".length).replace(/^\/\//, "");
    return { kind: "pglite", dataDir: dir === "" ? DEFAULT_PGLITE_DIR : dir };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `${name} must be a postgres://, postgresql://, pglite:<dir> or memory: URL (got an unparsable value)`,
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(
      `${name} must be a postgres://, postgresql://, pglite:<dir> or memory: URL (got scheme "${url.protocol}")`,
    );
  }
  if (!url.hostname) {
    throw new ConfigError(`${name} must name a host (got a URL without one)`);
  }
  const host = url.hostname;
  return { kind: "postgres", url: value, host, neon: isNeonHost(host) };
}

/** Neon endpoints live under neon.tech (and neon.build for Neon's own staging). */
function isNeonHost(host: string): boolean {
  return /\.neon\.(tech|build)$/i.test(host);
}

/**
 * The direct (unpooled) form of a Neon pooled URL: Neon's pooler is the same
 * endpoint name with a `-pooler` suffix, and runs PgBouncer in transaction mode,
 * where session advisory locks and `CREATE INDEX CONCURRENTLY` retries misbehave.
 */
export function directNeonUrl(url: string): string {
  const parsed = new URL(url);
  if (!isNeonHost(parsed.hostname)) return url;
  const [first, ...rest] = parsed.hostname.split(".");
  if (!first || !first.endsWith("-pooler")) return url;
  parsed.hostname = [first.slice(0, -"-pooler".length), ...rest].join(".");
  return parsed.toString();
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const Env = z.object({
  NODE_ENV: z.enum(["production", "development", "test"]).default("development"),
  DATABASE_URL: z.string().optional(),
  MIGRATIONS_DATABASE_URL: z.string().optional(),
  DB_DRIVER: z.enum(["auto", "neon", "pg", "pglite"]).default("auto"),
  NEON_WS_PROXY: z.string().optional(),
  DB_POOL_SIZE: int("DB_POOL_SIZE", 1).optional(),
  DB_MAX_OVERFLOW: int("DB_MAX_OVERFLOW", 0).optional(),
  DB_POOL_TIMEOUT: seconds("DB_POOL_TIMEOUT", { allowZero: false }).default(30),
  DB_POOL_RECYCLE: seconds("DB_POOL_RECYCLE", { allowZero: true }).default(3600),
  DB_POOL_PRE_PING: bool("DB_POOL_PRE_PING").default(true),
  DB_USE_NULL_POOL: bool("DB_USE_NULL_POOL").optional(),
  DB_PREPARED_STATEMENTS: bool("DB_PREPARED_STATEMENTS").optional(),
  DB_ECHO: bool("DB_ECHO").default(false),
  DB_ENABLE_QUERY_LOGGING: bool("DB_ENABLE_QUERY_LOGGING").default(false),
  DB_SLOW_QUERY_THRESHOLD: seconds("DB_SLOW_QUERY_THRESHOLD", { allowZero: true }).default(1),
  DB_STATEMENT_TIMEOUT: seconds("DB_STATEMENT_TIMEOUT", { allowZero: true }).default(10),
  MIGRATION_LOCK_TIMEOUT: seconds("MIGRATION_LOCK_TIMEOUT", { allowZero: false }).default(5),
  MIGRATION_MAX_ATTEMPTS: int("MIGRATION_MAX_ATTEMPTS", 1).default(5),
  PORT: int("PORT", 0)
    .refine((n) => n <= 65535, "PORT must be an integer between 0 and 65535")
    .default(3000),
  AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
});

export interface DatabaseConfig {
  /** Where app traffic goes. */
  target: DatabaseTarget;
  /** Where migrations go: MIGRATIONS_DATABASE_URL, else DATABASE_URL (Neon pooler hosts made direct). */
  migrationsTarget: DatabaseTarget;
  driver: "auto" | "neon" | "pg" | "pglite";
  neonWsProxy: string | null;
  poolSize: number;
  maxOverflow: number;
  poolTimeoutMs: number;
  /** 0: never recycle. */
  poolRecycleMs: number;
  prePing: boolean;
  useNullPool: boolean;
  /** Hot statements as named prepared statements, parsed and planned once per connection. */
  preparedStatements: boolean;
  /** A statement running longer is cancelled (a protocol cancel, which poolers pass on); 0: never. */
  statementTimeoutMs: number;
  echo: boolean;
  slowQueryLogging: boolean;
  slowQueryThresholdMs: number;
}

interface MigrationConfig {
  lockTimeoutMs: number;
  maxAttempts: number;
}

export interface Config {
  /** The local server's port (`npm start`); 0 picks a free one. */
  port: number;
  database: DatabaseConfig;
  migration: MigrationConfig;
}

/** Parses an environment into a Config; throws ConfigError with one line naming the variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings are how shells and CI templates say "unset".
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ""),
  );
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const message = issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
    throw new ConfigError(message);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  const inLambda = e.AWS_LAMBDA_FUNCTION_NAME !== undefined;
  const target = parseDatabaseUrl(e.DATABASE_URL);
  const migrationsRaw = e.MIGRATIONS_DATABASE_URL ?? e.DATABASE_URL;
  let migrationsTarget = parseDatabaseUrl(
    migrationsRaw,
    e.MIGRATIONS_DATABASE_URL ? "MIGRATIONS_DATABASE_URL" : "DATABASE_URL",
  );
  if (migrationsTarget.kind === "postgres" && migrationsTarget.neon && !e.MIGRATIONS_DATABASE_URL) {
    migrationsTarget = { ...migrationsTarget, url: directNeonUrl(migrationsTarget.url) };
  }
  if (e.DB_DRIVER === "pglite" && target.kind !== "pglite") {
    throw new ConfigError(`DB_DRIVER=pglite needs DATABASE_URL unset or a pglite:/memory: URL`);
  }
  if ((e.DB_DRIVER === "neon" || e.DB_DRIVER === "pg") && target.kind !== "postgres") {
    throw new ConfigError(`DB_DRIVER=${e.DB_DRIVER} needs DATABASE_URL to be a postgres:// URL`);
  }
  return {
    port: e.PORT,
    database: {
      target,
      migrationsTarget,
      driver: e.DB_DRIVER,
      neonWsProxy: e.NEON_WS_PROXY ?? null,
      poolSize: e.DB_POOL_SIZE ?? (production ? 20 : 5),
      maxOverflow: e.DB_MAX_OVERFLOW ?? (production ? 10 : 5),
      poolTimeoutMs: e.DB_POOL_TIMEOUT * 1000,
      poolRecycleMs: e.DB_POOL_RECYCLE * 1000,
      prePing: e.DB_POOL_PRE_PING,
      useNullPool: e.DB_USE_NULL_POOL ?? inLambda,
      // A connection per request would prepare every statement for one use; off there by default.
      preparedStatements: e.DB_PREPARED_STATEMENTS ?? !(e.DB_USE_NULL_POOL ?? inLambda),
      echo: e.DB_ECHO,
      slowQueryLogging: e.DB_ENABLE_QUERY_LOGGING,
      slowQueryThresholdMs: e.DB_SLOW_QUERY_THRESHOLD * 1000,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT * 1000,
    },
    migration: {
      lockTimeoutMs: e.MIGRATION_LOCK_TIMEOUT * 1000,
      maxAttempts: e.MIGRATION_MAX_ATTEMPTS,
    },
  };
}

function loadOrExit(): Config {
  try {
    return parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      // One line, then stop: a bad setting must fail at start, never mid-request.
      process.stderr.write(`config error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The process's configuration, parsed at import (cold start). */
export const Config: Config = loadOrExit();
