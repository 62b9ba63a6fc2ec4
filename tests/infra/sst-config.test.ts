import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fallback, jobs, routeKey, routes, type Job } from "@shop/functions/routes";
import { installSstStub, type Created, type SstStub } from "../support/sst-stub.ts";

/**
 * Evaluates the real sst.config.ts and infra/*.ts against recording fakes of SST's
 * globals (tests/support/sst-stub.ts): what `sst deploy` would create, checked
 * offline. `npm run typecheck:sst` checks the same files against SST's real types.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// A computed specifier on purpose: the root type-check (`npm test`) must not follow
// it into sst.config.ts, whose globals are declared only by .sst/platform.
const CONFIG_URL = new URL("../../sst.config.ts", import.meta.url).href;

interface SstConfig {
  app(input: { stage: string }): unknown;
  run(): Promise<unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isSstConfig(value: unknown): value is SstConfig {
  return isRecord(value) && typeof value.app === "function" && typeof value.run === "function";
}

let stub: SstStub | undefined;

afterEach(() => {
  stub?.uninstall();
  stub = undefined;
  vi.useRealTimers();
  vi.doUnmock("../../packages/functions/src/routes.ts");
});

/** A fresh evaluation of sst.config.ts (infra modules create resources when first imported). */
async function loadConfig(): Promise<SstConfig> {
  vi.resetModules();
  const mod: unknown = await import(CONFIG_URL);
  if (!isRecord(mod) || !isSstConfig(mod.default)) throw new Error("sst.config.ts must export default $config({ app, run })");
  return mod.default;
}

/** Runs the config's run() as `sst deploy --stage <stage>` (or `sst dev`) would. */
async function deploy(stage: string, opts: { dev?: boolean } = {}) {
  stub = installSstStub({ stage, dev: opts.dev ?? false });
  const config = await loadConfig();
  const outputs = await config.run();
  return { stub, outputs };
}

function one(s: SstStub, type: string, name: string): Created {
  const found = s.ofType(type).filter((c) => c.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return found[0]!;
}

function argsOf(c: Created): Record<string, unknown> {
  if (!isRecord(c.args)) throw new Error(`${c.type} ${c.name} has no args`);
  return c.args;
}

/** `packages/functions/src/row/list.handler` → the source file it names. */
function handlerFile(handler: unknown): string {
  if (typeof handler !== "string") throw new Error(`handler is not a path: ${String(handler)}`);
  return `${ROOT}${handler.replace(/\.handler$/, "")}.ts`;
}

/** The settings every function of the app must carry, per the brief and the contract. */
function expectFunctionSettings(args: unknown, s: SstStub, size: { memory: number; timeout: number }) {
  const databaseUrl = one(s, "sst.Secret", "DatabaseUrl").resource;
  expect(args).toMatchObject({
    runtime: "nodejs24.x",
    architecture: "arm64",
    memory: `${size.memory} MB`,
    timeout: `${size.timeout} seconds`,
    environment: {
      NODE_ENV: "production",
      DATABASE_URL: (databaseUrl as { value: unknown }).value,
      DB_USE_NULL_POOL: "true",
      DB_POOL_TIMEOUT: "10",
    },
  });
  expect(isRecord(args) && Array.isArray(args.link) ? args.link : []).toContain(databaseUrl);
}

describe("sst.config.ts app()", () => {
  async function app(stage: string) {
    stub = installSstStub({ stage });
    return (await loadConfig()).app({ stage });
  }

  it("retains production's resources and protects the stage from `sst remove`", async () => {
    expect(await app("production")).toEqual({
      name: "shopping-agent",
      removal: "retain",
      protect: true,
      home: "aws",
    });
  });

  it("removes a preview stage's resources and lets `sst remove` run", async () => {
    expect(await app("pr-123")).toEqual({
      name: "shopping-agent",
      removal: "remove",
      protect: false,
      home: "aws",
    });
  });
});

/** The routes that get a function of their own (HEAD routes reuse their GET route's). */
const own = (s: SstStub) => s.routes.filter((r) => !r.key.startsWith("HEAD "));

describe("sst.config.ts run() on a deployed stage", () => {
  it("registers every route of the table with its handler and function settings", async () => {
    const { stub: s } = await deploy("pr-123");
    const registered = own(s).filter((r) => r.key !== "$default");
    expect(registered.map((r) => r.key)).toEqual(routes.map(routeKey));
    for (const route of routes) {
      const r = registered.find((x) => x.key === routeKey(route))!;
      expect(r.handler).toMatchObject({ handler: `packages/functions/src/${route.file}.handler` });
      expectFunctionSettings(r.handler, s, { memory: route.memory ?? 1024, timeout: route.timeout ?? 20 });
    }
  });

  it("answers HEAD on every GET route with that route's function", async () => {
    const { stub: s } = await deploy("pr-123");
    const heads = s.routes.filter((r) => r.key.startsWith("HEAD "));
    const gets = routes.filter((r) => r.method === "GET");
    expect(heads.map((r) => r.key)).toEqual(gets.map((r) => `HEAD ${r.path}`));
    for (const [i, head] of heads.entries()) expect(String(head.handler)).toBe(`<route ${routeKey(gets[i]!)} function arn>`);
  });

  it("routes unknown methods and paths to the fallback handler ($default)", async () => {
    const { stub: s } = await deploy("pr-123");
    const defaults = s.routes.filter((r) => r.key === "$default");
    expect(defaults).toHaveLength(1);
    expect(defaults[0]!.handler).toMatchObject({ handler: `packages/functions/src/${fallback.file}.handler` });
    expectFunctionSettings(defaults[0]!.handler, s, { memory: 256, timeout: 20 });
  });

  it("points every handler at a file that exists", async () => {
    const { stub: s } = await deploy("pr-123");
    const handlers = [
      ...own(s).map((r) => (isRecord(r.handler) ? r.handler.handler : r.handler)),
      ...s.ofType("sst.aws.Function").map((f) => argsOf(f).handler),
      ...s.ofType("sst.aws.CronV2").map((c) => (argsOf(c).function as { handler: unknown }).handler),
    ];
    expect(handlers.length).toBeGreaterThan(routes.length);
    const missing = handlers.map(handlerFile).filter((file) => !existsSync(file));
    expect(missing.map((f) => f.slice(ROOT.length))).toEqual([]);
  });

  it("creates one API and the database secrets, the migrations one optional", async () => {
    const { stub: s, outputs } = await deploy("pr-123");
    expect(s.ofType("sst.aws.ApiGatewayV2")).toHaveLength(1);
    one(s, "sst.Secret", "DatabaseUrl");
    expect(argsOf(one(s, "sst.Secret", "MigrationsDatabaseUrl"))).toEqual({ placeholder: "" });
    expect(outputs).toMatchObject({ stage: "pr-123", api: { from: "ApiGatewayV2 Api url" } });
  });

  it("creates the migrator: 15 minutes, the migrations URL, the shared settings", async () => {
    const { stub: s } = await deploy("pr-123");
    const migrator = argsOf(one(s, "sst.aws.Function", "Migrator"));
    expect(migrator.handler).toBe("packages/migrations/src/handler.handler");
    expectFunctionSettings(migrator, s, { memory: 1024, timeout: 900 });
    const secret = one(s, "sst.Secret", "MigrationsDatabaseUrl").resource as { value: unknown };
    expect(migrator.environment).toMatchObject({ MIGRATIONS_DATABASE_URL: secret.value });
    expect(migrator.link).toContain(one(s, "sst.Secret", "MigrationsDatabaseUrl").resource);
  });

  it("invokes the migrator after updating it, with a trigger that changes on every deploy", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-03-01T10:00:00Z"));
    const first = await deploy("pr-123");
    const invocation = one(first.stub, "aws.lambda.Invocation", "MigratorInvocation");
    const migrator = one(first.stub, "sst.aws.Function", "Migrator").resource as { name: unknown };
    expect(invocation.args).toMatchObject({ functionName: migrator.name });
    expect(invocation.opts?.dependsOn).toEqual([one(first.stub, "sst.aws.Function", "Migrator").resource]);
    const firstTriggers = argsOf(invocation).triggers;
    first.stub.uninstall();

    vi.setSystemTime(new Date("2026-03-01T10:05:00Z"));
    const second = await deploy("pr-123");
    const again = argsOf(one(second.stub, "aws.lambda.Invocation", "MigratorInvocation"));
    expect(isRecord(firstTriggers) && Object.keys(firstTriggers).length > 0).toBe(true);
    expect(again.triggers).not.toEqual(firstTriggers);
  });

  it("makes every route's function wait for the migration", async () => {
    const { stub: s } = await deploy("pr-123");
    const invocation = one(s, "aws.lambda.Invocation", "MigratorInvocation").resource;
    expect(own(s).length).toBe(routes.length + 1);
    for (const r of own(s)) expect(r.handlerOpts.dependsOn, r.key).toEqual([invocation]);
  });

  it("bundles every function with the Neon driver alone and no PGlite", async () => {
    const { stub: s } = await deploy("pr-123");
    const functions = [
      ...own(s).map((r) => r.handler),
      argsOf(one(s, "sst.aws.Function", "Migrator")),
      ...s.ofType("sst.aws.CronV2").map((c) => argsOf(c).function),
    ];
    // The routes, $default, the migrator and the jobs.
    expect(functions).toHaveLength(routes.length + 2 + jobs.length);
    for (const fn of functions) {
      expect(fn).toMatchObject({
        nodejs: {
          esbuild: {
            define: { "globalThis.SHOP_DRIVER": '"neon"' },
            keepNames: false,
            external: expect.arrayContaining(["@electric-sql/pglite", "@electric-sql/pglite/*"]),
          },
        },
      });
    }
  });

  it("deploys production the same way", async () => {
    const { stub: s, outputs } = await deploy("production");
    expect(own(s)).toHaveLength(routes.length + 1);
    one(s, "aws.lambda.Invocation", "MigratorInvocation");
    expect(outputs).toMatchObject({ stage: "production" });
  });
});

describe("sst.config.ts run() in sst dev", () => {
  it("creates the migrator but does not invoke it", async () => {
    const { stub: s } = await deploy("alice", { dev: true });
    one(s, "sst.aws.Function", "Migrator");
    expect(s.ofType("aws.lambda.Invocation")).toEqual([]);
  });

  it("builds functions with every driver: the stage's database may be any Postgres", async () => {
    const { stub: s } = await deploy("alice", { dev: true });
    for (const r of own(s)) expect((r.handler as { nodejs: { esbuild: object } }).nodejs.esbuild, r.key).not.toHaveProperty("define");
  });

  it("registers the same routes and jobs, with nothing to wait for", async () => {
    const { stub: s } = await deploy("alice", { dev: true });
    expect(own(s)).toHaveLength(routes.length + 1);
    for (const r of own(s)) expect(r.handlerOpts.dependsOn, r.key).toBeUndefined();
    expect(s.ofType("sst.aws.CronV2")).toHaveLength(jobs.length);
    for (const c of s.ofType("sst.aws.CronV2")) expect(c.opts?.dependsOn, c.name).toBeUndefined();
  });
});

describe("cron jobs", () => {
  it("creates one scheduled function per job of the table", async () => {
    const { stub: s } = await deploy("pr-123");
    expect(s.ofType("sst.aws.CronV2")).toHaveLength(jobs.length);
    expect(s.ofType("sst.aws.Cron")).toEqual([]);
  });

  it("schedules every job of the table with its handler, 60 s and the shared settings, after the migration", async () => {
    expect(jobs.length).toBeGreaterThan(0);
    const { stub: s } = await deploy("pr-123");
    const invocation = one(s, "aws.lambda.Invocation", "MigratorInvocation").resource;
    for (const job of jobs) {
      const cron = s.ofType("sst.aws.CronV2").find((c) => (argsOf(c).function as { handler?: unknown }).handler === `packages/functions/src/${job.file}.handler`);
      expect(cron, job.name).toBeDefined();
      expect(cron!.args).toMatchObject({ schedule: job.schedule });
      expectFunctionSettings(argsOf(cron!).function, s, { memory: 1024, timeout: 60 });
      expect(cron!.opts?.dependsOn, job.name).toEqual([invocation]);
    }
    expect(s.ofType("sst.aws.CronV2").map((c) => c.name)).toEqual(["CleanupSessionsCron", "ExpireOutreachCron", "ExpireQuotesCron", "FoldStatsCron"]);
  });

  it("gives a job the shared function settings and makes it wait for the migration", async () => {
    const job: Job = { name: "cleanup-sessions", file: "session/cleanup", schedule: "rate(1 hour)" };
    vi.doMock("../../packages/functions/src/routes.ts", async (importOriginal) => ({
      ...(await importOriginal<Record<string, unknown>>()),
      jobs: [job],
    }));
    const { stub: s } = await deploy("pr-123");
    const cron = one(s, "sst.aws.CronV2", "CleanupSessionsCron");
    expect(cron.args).toMatchObject({ schedule: "rate(1 hour)" });
    const fn = argsOf(cron).function;
    expect(fn).toMatchObject({ handler: "packages/functions/src/session/cleanup.handler" });
    expectFunctionSettings(fn, s, { memory: 1024, timeout: 60 });
    expect(cron.opts?.dependsOn).toEqual([one(s, "aws.lambda.Invocation", "MigratorInvocation").resource]);
  });

  it("refuses a schedule EventBridge Scheduler would reject", async () => {
    vi.doMock("../../packages/functions/src/routes.ts", async (importOriginal) => ({
      ...(await importOriginal<Record<string, unknown>>()),
      jobs: [{ name: "bad", file: "session/cleanup", schedule: "every hour" }],
    }));
    await expect(deploy("pr-123")).rejects.toThrow(/job bad: schedule must be rate\(\.\.\.\), cron\(\.\.\.\) or at\(\.\.\.\)/);
  });
});
