import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { Database } from "@shop/core/db";
import { PAGE_BYTES } from "@shop/core/pagination";
import { call, expectInvalid, useApiDatabase, type CallResult } from "../support/api.ts";
import { targets } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

captureLogs();

/** Lambda refuses a response over 6 MB, measured as the envelope the runtime serializes. */
const LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024;

function envelopeBytes(res: CallResult): number {
  return Buffer.byteLength(JSON.stringify({ statusCode: res.status, headers: res.headers, body: JSON.stringify(res.body) }));
}

/** A JSON array of `bytes` + 4 bytes: quotes, each two bytes as JSON (and four once the envelope escapes them again). */
function arrayOf(bytes: number): string[] {
  return ['"'.repeat(bytes / 2)];
}

describe.each(targets())("what one field and one page can hold, on %s", (target) => {
  useApiDatabase(target);

  it("refuses choice_factors over 16 KiB, chat_history over 512 KiB and a signal payload over 16 KiB", async () => {
    const u = await fx.user();
    const r = await fx.row(u.id);
    const big = await call("POST", "/api/rows", { token: u.token, body: { title: "t", choice_factors: arrayOf(16 * 1024) } });
    expectInvalid(big, "body.choice_factors");
    expect(big.body.error.details[0].message).toBe("must be at most 16384 bytes as JSON");
    expect((await call("POST", "/api/rows", { token: u.token, body: { title: "t", choice_factors: arrayOf(16 * 1024 - 100) } })).status).toBe(201);
    expectInvalid(await call("PATCH", `/api/rows/${r.id}`, { token: u.token, body: { chat_history: arrayOf(512 * 1024) } }), "body.chat_history");
    expect((await call("PATCH", `/api/rows/${r.id}`, { token: u.token, body: { chat_history: arrayOf(512 * 1024 - 100) } })).status).toBe(200);
    expectInvalid(await call("POST", "/api/signals", { token: u.token, body: { signal_type: "t", payload: { a: "x".repeat(16 * 1024) } } }), "body.payload");
  });

  it("reads a choice_factors stored over the cap back as [] so the list stays under 6 MB", async () => {
    const u = await fx.user();
    // Eight rows with 1 MB each, written before the cap (straight to the table).
    await Database.use((db) =>
      sql`insert into "row" (user_id, title, choice_factors)
          select ${u.id}, 'r' || g, '["' || repeat('x', 1024 * 1024) || '"]' from generate_series(1, 8) g`.execute(db),
    );
    const res = await call("GET", "/api/rows", { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(8);
    for (const item of res.body.items) expect(item.choice_factors).toEqual([]);
    expect(envelopeBytes(res)).toBeLessThan(LAMBDA_RESPONSE_BYTES);
  });

  it("ends a page early at 2 MiB of items and carries on from there, with nothing skipped or repeated", async () => {
    const u = await fx.user();
    const r = await fx.row(u.id);
    // 100 comments of 10,000 control characters: 60 KB each as JSON, 6 MB for a full page of 100.
    await Database.use((db) =>
      sql`insert into comment (row_id, user_id, body) select ${r.id}, ${u.id}, repeat(chr(1), 10000) from generate_series(1, 100)`.execute(db),
    );
    const pages: CallResult[] = [];
    const { items } = await fx.allPages<{ id: number }>(async (cursor) => {
      const res = await call("GET", `/api/rows/${r.id}/comments?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { token: u.token });
      expect(res.status).toBe(200);
      pages.push(res);
      return res.body;
    });
    expect(pages.length).toBeGreaterThan(1);
    expect(new Set(items.map((c) => c.id)).size).toBe(100);
    for (const page of pages) {
      expect(Buffer.byteLength(JSON.stringify(page.body.items))).toBeLessThanOrEqual(PAGE_BYTES);
      expect(envelopeBytes(page)).toBeLessThan(LAMBDA_RESPONSE_BYTES);
    }
  });
});
