import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundle, deployedBuild } from "../../bench/cold/build.ts";

/**
 * What a deployed Lambda bundle carries, built as `sst deploy` builds it (SST's
 * esbuild options and infra/function.ts's, the same code `npm run bench:cold`
 * measures with). Leaving a driver out rests on esbuild folding a define away,
 * which a harmless-looking edit can undo: these keep it honest.
 */

const out = mkdtempSync(join(tmpdir(), "shop-bundle-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function modulesOf(entry: string): Promise<string[]> {
  const size = await bundle(await deployedBuild(), entry, join(out, entry.replace(/\W+/g, "-"), "bundle.mjs"));
  return Object.keys(size.modules);
}

describe("a deployed handler bundle", () => {
  it("carries the Neon driver and neither pg nor PGlite's code", async () => {
    const modules = await modulesOf("packages/functions/src/row/list.ts");
    expect(modules).toContain("@neondatabase/serverless");
    expect(modules.filter((m) => /^(pg|pg-.+|pgpass|postgres-.+|@electric-sql\/.+)$/.test(m))).toEqual([]);
  });

  it("of a scheduled job carries the Neon driver alone too", async () => {
    const modules = await modulesOf("packages/functions/src/job/expire-quotes.ts");
    expect(modules).toContain("@neondatabase/serverless");
    expect(modules.filter((m) => /^(pg|pg-.+|pgpass|postgres-.+|@electric-sql\/.+)$/.test(m))).toEqual([]);
  });

  it("of GET /health/ready carries the migrations' names, not their SQL", async () => {
    const modules = await modulesOf("packages/functions/src/health/ready.ts");
    expect(modules).toContain("migrations/src/migrations/names.ts");
    expect(modules.filter((m) => m.startsWith("migrations/") && !m.endsWith("/names.ts"))).toEqual([]);
  });
});
