import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generate } from "@shop/functions/lib/openapi";
import { routes } from "@shop/functions/routes";
import document from "../../packages/functions/openapi.json" with { type: "json" };
import { call, useApiDatabase } from "../support/api.ts";

/** openapi.json is generated from the route table and the handlers' specs, and committed: it must say what the code does. */

const committed = (path: string) => readFileSync(new URL(`../../packages/functions/${path}`, import.meta.url), "utf8");
const operations = document.paths as Record<string, Record<string, { security?: unknown[] }>>;

describe("the OpenAPI document", () => {
  it("is what npm run openapi generates now, and so are the client's types", async () => {
    const fresh = await generate();
    // A failure here: run `npm run openapi` and commit the result.
    expect(committed("openapi.json") === fresh.json, "openapi.json is stale").toBe(true);
    expect(committed("src/lib/openapi-types.ts") === fresh.types, "openapi-types.ts is stale").toBe(true);
  });

  it("documents every route of the table, and no route the table lacks", () => {
    const documented = Object.entries(operations).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("asks for the bearer token everywhere but on the health checks, the docs and the public share and quote links", () => {
    const open = Object.entries(operations).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([m, op]) => (op.security?.length === 0 ? [`${m.toUpperCase()} ${path}`] : [])),
    );
    expect(open.sort()).toEqual([
      "GET /api/quotes/{token}",
      "GET /api/share/{token}",
      "GET /docs",
      "GET /health/live",
      "GET /health/ready",
      "GET /openapi.json",
      "POST /api/quotes/{token}",
    ]);
    expect(document.security).toEqual([{ bearer: [] }]);
  });
});

describe("GET /openapi.json and GET /docs", () => {
  useApiDatabase("pglite");

  it("serve the committed document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(document);
  });

  it("serve the reference page with Swagger UI inlined, allowed to fetch from its own origin only", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers["content-security-policy"]).toMatch(/default-src 'none'.*connect-src 'self'/);
    expect(res.body).toContain("SwaggerUIBundle(");
    expect(res.body).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });
});
