import { databaseUrl } from "./database.ts";

/**
 * The settings every Lambda of this app shares: API routes, the `$default` route,
 * the migrator and cron jobs. One helper, so a runtime bump or a new env var
 * reaches every function at once.
 */

export interface FunctionSize {
  /** MB (default 1024). */
  memory?: number;
  /** Seconds (default 20: inside API Gateway's 30 s integration limit). */
  timeout?: number;
}

/** Everything but the handler; extra environment is merged over the defaults. */
export function functionDefaults(
  size: FunctionSize = {},
  environment: Record<string, $util.Input<string>> = {},
): Omit<sst.aws.FunctionArgs, "handler"> {
  return {
    runtime: "nodejs24.x",
    // Graviton: cheaper per GB-second, and nothing here ships native x86 code.
    architecture: "arm64",
    memory: `${size.memory ?? 1024} MB`,
    timeout: `${size.timeout ?? 20} seconds`,
    // Linking makes `Resource.DatabaseUrl` available and lists the secret in the Console.
    link: [databaseUrl],
    environment: {
      NODE_ENV: "production",
      // core/config.ts reads only process.env, once at cold start (house rule: one
      // place reads configuration), so the URL also goes in as a plain env var.
      // Lambda encrypts environment variables at rest.
      DATABASE_URL: databaseUrl.value,
      // One connection per request, closed before the response: Neon's pooler
      // (PgBouncer, transaction mode) does the pooling across all Lambdas.
      DB_USE_NULL_POOL: "true",
      // A connect that takes longer than this fails fast as a 503 (well under the
      // function timeout) instead of hanging until API Gateway gives up.
      DB_POOL_TIMEOUT: "10",
      ...environment,
    },
    nodejs: {
      esbuild: {
        // PGlite (embedded Postgres in WASM, several MB) serves `npm start` and tests
        // only; core imports it lazily, and a deployed function never reaches that
        // import, so keeping it out of the bundle keeps handlers small and cold starts fast.
        external: ["@electric-sql/pglite", "@electric-sql/pglite/*"],
        // The one driver a deployed bundle carries: core's loadDriver() and createConnector()
        // fold the others away under this define, so pg (and PGlite's code) stay out and only
        // the Neon driver is bundled (docs/performance.md, "Cold start and bundle size").
        // `sst dev` runs functions locally against whatever DatabaseUrl says: every driver there.
        ...($dev ? {} : { define: { "globalThis.SHOP_DRIVER": JSON.stringify("neon") } }),
        // SST keeps names by default (a `__name(fn, "…")` call for every function and class,
        // run at import). Nothing here reads a function's or class's name (our errors set
        // `name` themselves): 18 KB less per bundle. The cost: stack traces in the log name
        // minified functions; the line and column still point into the bundle, and SST
        // uploads its source maps.
        keepNames: false,
      },
    },
  };
}
