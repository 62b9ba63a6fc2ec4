import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { installSstStub } from "../../tests/support/sst-stub.ts";

/**
 * Bundles a handler the way `sst deploy` does. SST 4 builds each Node function
 * with esbuild's Go API (pkg/runtime/node/build.go, esbuild 0.27.2 inside the
 * sst 4.17 binary; the `esbuild` devDependency is pinned to the same version).
 * Its fixed options are repeated here; ours come from infra/function.ts itself,
 * evaluated against the recording SST fakes the infra tests use, so a change
 * there (externals, define, keepNames) changes what this measures.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** SST's target for each Lambda runtime when `nodejs.esbuild.target` is unset. */
const SST_TARGETS: Record<string, string> = {
  "nodejs24.x": "es2024",
  "nodejs22.x": "es2023",
  "nodejs20.x": "es2023",
};

/** SST always leaves these out (and installs them when a bundle imports them). */
const SST_EXTERNAL = ["sharp", "pg-native"];

/** SST's ESM banner: `require`, `__filename` and `__dirname` for CommonJS code inside the bundle. */
const SST_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
];

/** The settings of a deployed build that decide what goes into a bundle. */
export interface DeployedBuild {
  runtime: string;
  target: string;
  minify: boolean;
  keepNames: boolean;
  external: string[];
  define: Record<string, string>;
  mainFields: string[];
  conditions: string[];
  banner: string;
  /** True when infra/function.ts sets SHOP_DRIVER itself; otherwise the bench adds the Neon one. */
  driverFromInfra: boolean;
}

const DRIVER_KEY = "globalThis.SHOP_DRIVER";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
}

/** Reads the function settings from infra/function.ts, as SST would see them. */
export async function deployedBuild(): Promise<DeployedBuild> {
  const stub = installSstStub({ stage: "bench" });
  let args: unknown;
  try {
    // A computed specifier: the root type-check leaves infra/ out (its globals come from .sst/platform).
    const infra: unknown = await import(new URL("../../infra/function.ts", import.meta.url).href);
    if (!isRecord(infra) || typeof infra.functionDefaults !== "function") throw new Error("infra/function.ts must export functionDefaults()");
    args = infra.functionDefaults();
  } finally {
    stub.uninstall();
  }
  if (!isRecord(args) || typeof args.runtime !== "string") throw new Error("functionDefaults() gave no runtime");
  const nodejs = isRecord(args.nodejs) ? args.nodejs : {};
  const options = isRecord(nodejs.esbuild) ? nodejs.esbuild : {};
  const install = strings(nodejs.install) ?? (isRecord(nodejs.install) ? Object.keys(nodejs.install) : []);
  const define = isRecord(options.define) ? Object.fromEntries(Object.entries(options.define).map(([k, v]) => [k, String(v)])) : {};
  const driverFromInfra = DRIVER_KEY in define;
  const target = typeof options.target === "string" ? options.target : SST_TARGETS[args.runtime];
  if (!target) throw new Error(`no esbuild target known for ${args.runtime}`);
  return {
    runtime: args.runtime,
    target,
    minify: nodejs.minify !== false,
    keepNames: options.keepNames !== false,
    external: [...SST_EXTERNAL, ...install, ...(strings(options.external) ?? [])],
    define: driverFromInfra ? define : { ...define, [DRIVER_KEY]: JSON.stringify("neon") },
    mainFields: strings(options.mainFields) ?? ["module", "main"],
    conditions: strings(options.conditions) ?? [],
    banner: [...SST_BANNER, typeof nodejs.banner === "string" ? nodejs.banner : ""].join("\n"),
    driverFromInfra,
  };
}

/** The same build with another driver compiled in (the "pg build"). */
export function withDriver(build: DeployedBuild, driver: "neon" | "pg"): DeployedBuild {
  return { ...build, define: { ...build.define, [DRIVER_KEY]: JSON.stringify(driver) } };
}

/** The driver a build carries. */
export function driverOf(build: DeployedBuild): string {
  return JSON.parse(build.define[DRIVER_KEY] ?? '"all"') as string;
}

export interface BundleSize {
  /** Entry point, relative to the repository. */
  entry: string;
  bytes: number;
  gzip_bytes: number;
  /** Bytes in the output per group (zod, kysely, the drivers, app code), largest first. */
  groups: Record<string, number>;
  /** Bytes per npm package, and per app file (`core/src/db/driver.ts`). */
  modules: Record<string, number>;
  /** Where the bundle was written. */
  outfile: string;
}

/** The drivers' dependencies count as the driver. */
const PG_FAMILY = /^(pg|pg-.+|pgpass|postgres-.+|split2|xtend)$/;

function moduleOf(input: string): string {
  const packages = input.match(/node_modules\/(?:@[^/]+\/)?[^/]+/g);
  if (packages) return packages[packages.length - 1]!.slice("node_modules/".length);
  const app = /^packages\/([^/]+)\/(.+)$/.exec(input);
  return app ? `${app[1]}/${app[2]}` : input;
}

function groupOf(module: string): string {
  if (/^(core|functions|migrations)\//.test(module)) return `app: ${module.split("/")[0]}`;
  if (PG_FAMILY.test(module)) return "pg (with its deps)";
  return module;
}

function sorted(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort((a, b) => b[1] - a[1]));
}

/** Bundles `entry` (relative to the repository) into `outfile` and measures it. */
export async function bundle(build: DeployedBuild, entry: string, outfile: string): Promise<BundleSize> {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, entry)],
    outfile,
    platform: "node",
    format: "esm",
    bundle: true,
    write: true,
    metafile: true,
    // SST writes a linked source map and leaves it out of the zip (uploaded for the Console).
    sourcemap: "linked",
    target: build.target,
    minify: build.minify,
    keepNames: build.keepNames,
    external: build.external,
    define: build.define,
    mainFields: build.mainFields,
    conditions: build.conditions,
    banner: { js: build.banner },
    logLevel: "error",
  });
  const output = result.metafile.outputs[relative(ROOT, outfile)];
  if (!output) throw new Error(`esbuild wrote no ${outfile}`);
  const modules: Record<string, number> = {};
  const groups: Record<string, number> = {};
  let counted = 0;
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    if (bytesInOutput === 0) continue;
    const module = moduleOf(input);
    modules[module] = (modules[module] ?? 0) + bytesInOutput;
    groups[groupOf(module)] = (groups[groupOf(module)] ?? 0) + bytesInOutput;
    counted += bytesInOutput;
  }
  // The banner, esbuild's module wrappers and the source map comment.
  groups["(banner and glue)"] = output.bytes - counted;
  return {
    entry,
    bytes: output.bytes,
    gzip_bytes: gzipSync(readFileSync(outfile), { level: 9 }).length,
    groups: sorted(groups),
    modules: sorted(modules),
    outfile,
  };
}
