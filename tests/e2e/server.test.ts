import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "@shop/migrations/migrations/index";
import { createTestDatabase, stopNeonBridge, targets, type TargetName, type TestDatabase } from "../support/db.ts";
import { startNeonBridge, type NeonBridge } from "../support/neon-bridge.ts";
import { createSessionViaCli, startLocalServer, type RunningServer } from "../support/server.ts";

/** End to end: HTTP against `npm start`'s server, as the web app would talk to it. */

interface Harness {
  server: RunningServer;
  token: string;
}

async function http(h: Harness, method: string, path: string, body?: unknown, token: string | null = h.token) {
  const res = await fetch(`${h.server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
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
    expect((await http(h, "GET", "/health/live")).body).toEqual({ status: "ok" });
    const ready = await http(h, "GET", "/health/ready");
    expect(ready.status).toBe(200);
    expect(ready.body.migrations).toEqual({ applied: migrations.length, pending: 0 });
  });

  it("knows who the token belongs to", async () => {
    const me = await http(h, "GET", "/api/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: target === "pglite" ? "demo@example.com" : "e2e@example.com", is_admin: false });
  });

  it("creates, reads, updates, pages through and deletes rows over HTTP", async () => {
    const created = [];
    for (let i = 0; i < 7; i++) {
      const res = await http(h, "POST", "/api/rows", { title: `e2e row ${i}`, choice_factors: [i] });
      expect(res.status).toBe(201);
      created.push(res.body.id as number);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await http(h, "GET", `/api/rows?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((r: { id: number }) => r.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    for (const id of created) expect(seen.filter((s) => s === id)).toHaveLength(1);

    const patched = await http(h, "PATCH", `/api/rows/${created[0]}`, { status: "reviewing" });
    expect(patched.body.status).toBe("reviewing");
    expect((await http(h, "GET", `/api/rows/${created[0]}`)).body).toMatchObject({ status: "reviewing", bids: [] });
    expect((await http(h, "DELETE", `/api/rows/${created[0]}`)).status).toBe(204);
    expect((await http(h, "GET", `/api/rows/${created[0]}`)).status).toBe(404);
  });

  it("hands out share links that work as given, without a token", async () => {
    const row = await http(h, "POST", "/api/rows", { title: "shared over HTTP" });
    const link = await http(h, "POST", "/api/share-links", { resource_type: "row", resource_id: row.body.id });
    expect(link.status).toBe(201);
    expect(link.body.url).toBe(`${h.server.url}/api/share/${link.body.token}`);
    const view = await fetch(link.body.url);
    expect(view.status).toBe(200);
    expect(((await view.json()) as { row: { title: string } }).row.title).toBe("shared over HTTP");
  });

  it("answers client errors in the contract's shape", async () => {
    const unknown = await http(h, "GET", "/api/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: "not_found", message: "no such route" } });
    expect(unknown.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    const anonymous = await http(h, "GET", "/api/rows", undefined, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");

    const malformed = await http(h, "POST", "/api/rows", '{"title":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("invalid_request");

    const huge = await http(h, "POST", "/api/rows", { title: "x".repeat(1024 * 1024 + 10) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("payload_too_large");
  });

  it("revokes the session on logout", async () => {
    expect((await http(h, "POST", "/api/auth/logout")).status).toBe(204);
    expect((await http(h, "GET", "/api/me")).status).toBe(401);
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
      const rows = await fetch(`${first.url}/api/rows`, { headers: { authorization: `Bearer ${first.demoToken}` } });
      expect(((await rows.json()) as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(5);
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
