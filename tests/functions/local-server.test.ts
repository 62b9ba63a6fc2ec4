import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "@shop/functions/local/server";
import { useApiDatabase } from "../support/api.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

const logs = captureLogs();

/** Writes raw bytes to the server and resolves with everything it answers before closing (or after `waitMs`). */
function raw(url: string, request: string | Buffer, options: { endAfterMs?: number } = {}): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString("utf8")));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.write(request);
    if (options.endAfterMs !== undefined) setTimeout(() => socket.destroy(), options.endAfterMs);
  });
}

function parse(answer: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: Number(statusLine.split(" ")[1]), headers, body: body ? JSON.parse(body) : null };
}

describe("npm start's server, given what a browser would never send", () => {
  useApiDatabase("pglite");
  let server: LocalServer;
  beforeAll(async () => {
    server = await startServer({ port: 0, bodyTimeoutMs: 300 });
  });
  afterAll(() => server.close());

  it("answers an unknown method with the contract's JSON 404 and an x-request-id", async () => {
    const res = parse(await raw(server.url, "FOO /api/rows HTTP/1.1\r\nhost: x\r\n\r\n"));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: "no such route" } });
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("answers 20 KB of headers with a JSON 431 and an x-request-id", async () => {
    const res = parse(await raw(server.url, `GET /api/rows HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20 * 1024)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.body).toEqual({ error: { code: "headers_too_large", message: "the request headers are too large" } });
    expect(res.headers["x-request-id"]).toBeDefined();
  });

  it("answers garbage on the wire with a JSON 400", async () => {
    const res = parse(await raw(server.url, "GET /api/rows HTTP/1.1\r\nbad header\r\n\r\n"));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "the request is not valid HTTP" } });
  });

  it("answers a body that stops halfway with 408 after the timeout and closes the connection", async () => {
    const u = await fx.user();
    const answer = await raw(
      server.url,
      `POST /api/rows HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${u.token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"title":`,
    );
    const res = parse(answer);
    expect(res.status).toBe(408);
    expect(res.body).toEqual({ error: { code: "request_timeout", message: "the request was not sent in time" } });
    expect(res.headers["x-request-id"]).toBeDefined();
  });

  it("answers headers that never end with 408", async () => {
    const res = parse(await raw(server.url, "GET /api/rows HTTP/1.1\r\nhost: x\r\n"));
    expect(res.status).toBe(408);
  });

  it("logs a client that hangs up mid-body as an abort, not a server error", async () => {
    logs.length = 0;
    await raw(server.url, "POST /api/share/secret-token-secret HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{", { endAfterMs: 50 });
    await expect.poll(() => logs.find((l) => l.entry.msg === "client aborted the request")).toBeDefined();
    expect(logs.filter((l) => l.level === "error")).toEqual([]);
    expect(JSON.stringify(logs)).not.toContain("secret-token");
  });
});
