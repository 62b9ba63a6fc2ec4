import { describe, expect, it } from "vitest";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { quote } from "../support/outreach-fixtures.ts";

const logs = captureLogs();

/** What the wrapper logged as the path of the last request. */
function loggedPath(): string {
  return logs.filter((l) => l.entry.msg === "request").at(-1)!.entry.path as string;
}

describe.each(targets())("the wrapper's input checks on %s", (target) => {
  useApiDatabase(target);

  it("answers a NUL character in a body field, a query value or a path token with 400, naming where", async () => {
    const u = await fx.user();
    expectInvalid(await call("POST", "/api/rows", { token: u.token, body: { title: "desk\u0000" } }), "body.title");
    expectInvalid(await call("POST", "/api/rows", { token: u.token, body: { title: "desk", choice_factors: [{ "a\u0000": 1 }] } }), "body.choice_factors.0");
    expectInvalid(await call("GET", "/api/signals?signal_type=a%00b", { token: u.token }), "query.signal_type");
    expectInvalid(await call("GET", "/api/share/abc%00def"), "path.token");
    expectInvalid(await call("POST", "/api/quotes/abc%00def", { body: { price: "1", currency: "USD", title: "t", url: "https://x.example" } }), "path.token");
  });

  it("answers a lone surrogate anywhere in the input with 400", async () => {
    const u = await fx.user();
    const res = await call("POST", "/api/rows", { token: u.token, rawBody: '{"title":"desk \\ud800"}' });
    expectInvalid(res, "body.title");
    expect(res.body.error.details[0].message).toMatch(/lone surrogate/);
    expectInvalid(await call("POST", "/api/signals", { token: u.token, rawBody: '{"signal_type":"\\udc00x"}' }), "body.signal_type");
  });

  it("checks the size of the bytes sent: 400 KB of invalid UTF-8 is a 400, over 1 MiB a 413", async () => {
    const u = await fx.user();
    const bad = Buffer.concat([Buffer.from('{"title":"'), Buffer.alloc(400 * 1024, 0xff), Buffer.from('"}')]);
    const res = await call("POST", "/api/rows", { token: u.token, rawBody: bad });
    expectInvalid(res, "body");
    expect(res.body.error.message).toBe("the request body is not valid UTF-8");
    const huge = await call("POST", "/api/rows", { token: u.token, rawBody: Buffer.alloc(1024 * 1024 + 1, 0xff) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.details).toEqual([{ path: "body", message: `must be at most 1048576 bytes (got ${1024 * 1024 + 1})` }]);
  });

  it("answers a body that is not JSON by its content type with 415", async () => {
    const u = await fx.user();
    for (const type of ["text/plain", "application/octet-stream", "application/x-www-form-urlencoded", "application/jsonx"]) {
      const res = await call("POST", "/api/rows", { token: u.token, rawBody: '{"title":"desk"}', headers: { "content-type": type } });
      expect(res.status, type).toBe(415);
      expect(res.body.error).toMatchObject({ code: "unsupported_media_type", details: [{ path: "headers.content-type" }] });
    }
    for (const type of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
      const res = await call("POST", "/api/rows", { token: u.token, rawBody: '{"title":"desk"}', headers: { "content-type": type } });
      expect(res.status, type).toBe(201);
    }
  });

  it("answers HEAD on a GET route as GET would, without a body", async () => {
    const u = await fx.user();
    await fx.row(u.id);
    const get = await call("GET", "/api/rows", { token: u.token });
    const head = await call("HEAD", "/api/rows", { token: u.token });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(head.headers["content-type"]).toBe(get.headers["content-type"]);
    expect((await call("HEAD", "/api/rows")).status).toBe(401);
    expect((await call("HEAD", "/api/share/nope-nope-nope-nope-nope")).status).toBe(404);
  });

  it("never logs a share or quote token, whatever the method, slashes, case or percent-encoding", async () => {
    const u = await fx.user();
    const r = await fx.row(u.id);
    const share = (await call("POST", "/api/share-links", { token: u.token, body: { resource_type: "row", resource_id: r.id } })).body.token as string;
    const seller = await fx.seller();
    const q = (await quote(r.id, seller.id)).token;
    for (const token of [share, q]) {
      const base = token === share ? "/api/share/" : "/api/quotes/";
      const encoded = base.replace("e", "%65") + token;
      for (const [method, path] of [
        ["GET", base + token],
        ["HEAD", base + token],
        ["OPTIONS", base + token],
        ["DELETE", base + token],
        ["PUT", base + token],
        ["GET", `${base}${token}/`],
        ["GET", `/${base}${token}`],
        ["GET", base.toUpperCase() + token],
        ["GET", encoded],
        ["GET", `${base}%E0${token}`],
        ["GET", `${base}${token}/more`],
      ] as const) {
        const res = await call(method, path);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        const logged = loggedPath();
        expect(logged, `${method} ${path}`).not.toContain(token.slice(0, 12));
        expect(logged).toMatch(/\[token\]$/);
      }
    }
  });
});
