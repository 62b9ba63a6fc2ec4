import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@shop/functions/lib/client";
import { migrations } from "@shop/migrations/migrations/index";
import { checked, checkResponse } from "../support/contract.ts";
import { createTestDatabase, stopNeonBridge, targets, type TargetName, type TestDatabase } from "../support/db.ts";
import { startNeonBridge, type NeonBridge } from "../support/neon-bridge.ts";
import { createSessionViaCli, startLocalServer, type RunningServer } from "../support/server.ts";

/** End to end: HTTP against `npm start`'s server through the typed client, as the web app would talk to it. */

interface Harness {
  server: RunningServer;
  token: string;
}

/** The typed client (what a web app would use), every answer checked against openapi.json. */
function client(h: Harness, token: string | null = h.token) {
  const api = createClient(h.server.url, token ?? undefined);
  api.use(checked);
  return api;
}

describe.each(targets())("npm start on %s", (target: TargetName) => {
  let h: Harness;
  let cleanup: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    if (target === "pglite") {
      const dir = mkdtempSync(join(tmpdir(), "shop-e2e-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const server = await startLocalServer({ DATABASE_URL: `pglite:${join(dir, "db")}` });
      cleanup.unshift(() => void server.stop("SIGKILL"));
      expect(server.demoToken).toMatch(/^sa_/);
      h = { server, token: server.demoToken! };
      return;
    }
    const db: TestDatabase = await createTestDatabase("postgres");
    cleanup.push(() => db.drop());
    const env: Record<string, string> = { DATABASE_URL: db.url! };
    if (target === "neon") {
      const u = new URL(db.url!);
      const bridge: NeonBridge = await startNeonBridge({ host: u.hostname, port: Number(u.port || 5432) });
      cleanup.unshift(() => bridge.close());
      Object.assign(env, { DB_DRIVER: "neon", NEON_WS_PROXY: bridge.proxy });
    }
    const { token, stderr } = await createSessionViaCli(env, ["--email", "e2e@example.com", "--name", "E2E"]);
    expect(stderr).toMatch(/the token is shown once/);
    const server = await startLocalServer(env);
    cleanup.unshift(() => void server.stop("SIGKILL"));
    h = { server, token };
  });

  afterAll(async () => {
    for (const fn of cleanup) await fn();
    cleanup = [];
    await stopNeonBridge();
  });

  it("is healthy and ready, with every migration applied", async () => {
    const api = client(h, null);
    expect((await api.GET("/health/live")).data).toEqual({ status: "ok" });
    const ready = await api.GET("/health/ready");
    expect(ready.response.status).toBe(200);
    expect(ready.data?.migrations).toEqual({ applied: migrations.length, pending: 0 });
  });

  it("knows who the token belongs to", async () => {
    const me = await client(h).GET("/api/me");
    expect(me.response.status).toBe(200);
    expect(me.data).toMatchObject({ email: target === "pglite" ? "demo@example.com" : "e2e@example.com", is_admin: false });
  });

  it("creates, reads, updates, pages through and deletes rows over HTTP", async () => {
    const api = client(h);
    const created: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await api.POST("/api/rows", { body: { title: `e2e row ${i}`, choice_factors: [i] } });
      expect(res.response.status).toBe(201);
      created.push(res.data!.id);
    }
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.GET("/api/rows", { params: { query: { limit: 3, cursor: cursor as string | undefined } } });
      expect(page.response.status).toBe(200);
      seen.push(...page.data!.items.map((r) => r.id));
      cursor = page.data!.next_cursor ?? undefined;
    } while (cursor);
    for (const id of created) expect(seen.filter((s) => s === id)).toHaveLength(1);

    const row = { params: { path: { row_id: created[0]! } } };
    const patched = await api.PATCH("/api/rows/{row_id}", { ...row, body: { status: "reviewing" } });
    expect(patched.data?.status).toBe("reviewing");
    expect((await api.GET("/api/rows/{row_id}", row)).data).toMatchObject({ status: "reviewing", bids: [] });
    expect((await api.DELETE("/api/rows/{row_id}", row)).response.status).toBe(204);
    const gone = await api.GET("/api/rows/{row_id}", row);
    expect(gone.response.status).toBe(404);
    expect(gone.error?.error.code).toBe("not_found");
  });

  it("hands out share links that work as given, without a token", async () => {
    const api = client(h);
    const row = await api.POST("/api/rows", { body: { title: "shared over HTTP" } });
    const link = await api.POST("/api/share-links", { body: { resource_type: "row", resource_id: row.data!.id } });
    expect(link.response.status).toBe(201);
    expect(link.data?.url).toBe(`${h.server.url}/api/share/${link.data?.token}`);
    const view = await client(h, null).GET("/api/share/{token}", { params: { path: { token: link.data!.token } } });
    expect(view.response.status).toBe(200);
    expect(view.data?.row.title).toBe("shared over HTTP");
  });

  it("answers client errors in the contract's shape", async () => {
    // Not in the typed client's paths: plain fetch, checked all the same.
    const unknown = await fetch(`${h.server.url}/api/nothing-here`);
    const text = await unknown.text();
    checkResponse("GET", "/api/nothing-here", { status: unknown.status, headers: Object.fromEntries(unknown.headers), body: text });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(text)).toEqual({ error: { code: "not_found", message: "no such route" } });
    expect(unknown.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    const anonymous = await client(h, null).GET("/api/rows");
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get("www-authenticate")).toBe("Bearer");

    const api = client(h);
    const malformed = await api.POST("/api/rows", { body: { title: "" }, bodySerializer: () => '{"title":' });
    expect(malformed.response.status).toBe(400);
    expect(malformed.error?.error.code).toBe("invalid_request");

    const huge = await api.POST("/api/rows", { body: { title: "x".repeat(1024 * 1024 + 10) } });
    expect(huge.response.status).toBe(413);
    expect(huge.error?.error.code).toBe("payload_too_large");
  });

  it("revokes the session on logout", async () => {
    const api = client(h);
    expect((await api.POST("/api/auth/logout")).response.status).toBe(204);
    expect((await api.GET("/api/me")).response.status).toBe(401);
  });

  it("stops cleanly on Ctrl-C", async () => {
    const code = await h.server.stop("SIGINT");
    expect(code).toBe(0);
    expect(h.server.output()).toMatch(/SIGINT: finishing in-flight requests, closing the database/);
  });
});

describe("npm start on a fresh embedded database", () => {
  it("seeds demo data once and prints a token and a ready-to-paste curl", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shop-e2e-"));
    try {
      const first = await startLocalServer({ DATABASE_URL: `pglite:${join(dir, "db")}` });
      expect(first.output()).toMatch(/demo data: seeded/);
      expect(first.output()).toMatch(/curl -H "Authorization: Bearer sa_[\w-]+" http:\/\/127\.0\.0\.1:\d+\/api\/rows/);
      const api = createClient(first.url, first.demoToken!);
      api.use(checked);
      expect((await api.GET("/api/rows")).data?.items.length).toBeGreaterThanOrEqual(5);
      expect(await first.stop(), first.output()).toBe(0);

      const second = await startLocalServer({ DATABASE_URL: `pglite:${join(dir, "db")}` });
      expect(second.output()).not.toMatch(/demo data: seeded/);
      expect(second.demoToken).toMatch(/^sa_/);
      expect(await second.stop(), second.output()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
