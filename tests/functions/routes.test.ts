import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { fallback, jobs, matchRoute, routeKey, routes } from "@shop/functions/routes";

/** The route table is the single source for deploys and `npm start`: it and the handler files must agree. */

const SRC = join(import.meta.dirname, "../../packages/functions/src");
/** Plumbing, not handlers. */
const NOT_HANDLERS = new Set(["routes.ts"]);
const PLUMBING_DIRS = new Set(["lib", "local"]);

function handlerFiles(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return PLUMBING_DIRS.has(name) && dir === SRC ? [] : handlerFiles(path);
    if (!name.endsWith(".ts") || (dir === SRC && NOT_HANDLERS.has(name))) return [];
    return [relative(SRC, path).replace(/\.ts$/, "")];
  });
}

const referenced = [...routes.map((r) => r.file), fallback.file, ...jobs.map((j) => j.file)];

describe("the route table", () => {
  it("has a handler file exporting `handler`, and nothing else, for every route, the fallback and every job", async () => {
    for (const file of referenced) {
      const mod = (await import(/* @vite-ignore */ new URL(`${file}.ts`, `file://${SRC}/`).href)) as { handler?: unknown };
      expect(typeof mod.handler, file).toBe("function");
      // Nothing imports a handler file, so the dead-code check (knip) cannot see its exports: this is that check.
      expect(Object.keys(mod), file).toEqual(["handler"]);
    }
  });

  it("has a route for every handler file", () => {
    const orphans = handlerFiles().filter((f) => !referenced.includes(f));
    expect(orphans).toEqual([]);
  });

  it("maps each handler file to one route, and each method and path once", () => {
    expect(new Set(routes.map((r) => r.file)).size).toBe(routes.length);
    expect(new Set(routes.map(routeKey)).size).toBe(routes.length);
  });

  it("matches concrete paths to their route, decoding parameters", () => {
    expect(matchRoute("GET", "/api/rows/42/bids")).toMatchObject({
      route: { file: "bid/list" },
      pathParameters: { row_id: "42" },
    });
    expect(matchRoute("POST", "/api/rows/1/bids/2/select")?.pathParameters).toEqual({ row_id: "1", bid_id: "2" });
    expect(matchRoute("GET", "/api/share/a%20b")?.pathParameters).toEqual({ token: "a b" });
    expect(matchRoute("GET", "/api/rows/")).toBeNull();
    expect(matchRoute("PUT", "/api/rows")).toBeNull();
  });
});
