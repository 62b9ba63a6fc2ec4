import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as Comment from "@shop/core/comment";
import * as Row from "@shop/core/row";
import * as Signal from "@shop/core/signal";
import { call, useApiDatabase } from "../support/api.ts";
import { targets } from "../support/db.ts";
import { captureLogs } from "../support/logs.ts";
import { routeEntries, specOf, validRequests, world, type World } from "../support/requests.ts";

captureLogs();

/** Any text: every code unit (NUL and lone surrogates included), or whole graphemes (emoji, RTL, combining marks). */
const text = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }));
/** Anything a JSON body field could hold. */
const anyValue = fc.oneof(text, fc.jsonValue({ maxDepth: 4 }), fc.double(), fc.bigInt().map(String), fc.constant(null));

const RUNS = 15;

/** The field names a route's schema declares (body or query), plus one it does not know. */
function namesOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return [...Object.keys(shape ?? {}), "unknown_field"];
}

// The wrapper and the schemas are the same on every driver: PGlite and the server, not the Neon driver again.
describe.each(targets().filter((t) => t !== "neon"))("fuzzing the request schemas against the handlers on %s", (target) => {
  useApiDatabase(target);

  it("answers any body and any query on any route without a 5xx", async () => {
    const w = await world();
    for (const [key, route] of routeEntries) {
      const spec = await specOf(route);
      const token = spec.auth === "admin" ? w.admin.token : w.owner.token;
      const base = validRequests[key]!(w);
      if (spec.body) {
        const body = fc.dictionary(fc.constantFrom(...namesOf(spec.body)), anyValue, { maxKeys: 5 });
        await fc.assert(
          fc.asyncProperty(body, fc.boolean(), async (fields, keepValid) => {
            const res = await call(route.method, base.url, { token, body: keepValid ? { ...base.body, ...fields } : fields });
            expect(res.status, `${key} ${JSON.stringify(fields)}`).toBeLessThan(500);
          }),
          { numRuns: RUNS },
        );
      }
      if (spec.query) {
        const query = fc.dictionary(fc.constantFrom(...namesOf(spec.query)), text, { maxKeys: 4 });
        await fc.assert(
          fc.asyncProperty(query, async (values) => {
            const search = new URLSearchParams(Object.entries(values)).toString();
            const res = await call(route.method, `${base.url}?${search}`, { token });
            expect(res.status, `${key}?${search}`).toBeLessThan(500);
          }),
          { numRuns: RUNS },
        );
      }
    }
  });

  it("reads back exactly what it stored: rows, comments and signals", async () => {
    const w: World = await world();
    const token = w.owner.token;
    const same = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    await fc.assert(
      fc.asyncProperty(text, fc.option(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 })), async (title, factors) => {
        const input = { title, ...(factors ? { choice_factors: factors } : {}) };
        const res = await call("POST", "/api/rows", { token, body: input });
        expect(res.status).toBeLessThan(500);
        if (res.status !== 201) return;
        const want = Row.CreateInput.parse(input);
        const got = (await call("GET", `/api/rows/${res.body.id}`, { token })).body;
        same(got.title, want.title);
        same(got.choice_factors, want.choice_factors ?? []);
      }),
      { numRuns: 30 },
    );
    await fc.assert(
      fc.asyncProperty(text, async (body) => {
        const res = await call("POST", `/api/rows/${w.rowId}/comments`, { token, body: { body } });
        expect(res.status).toBeLessThan(500);
        if (res.status !== 201) return;
        const page = (await call("GET", `/api/rows/${w.rowId}/comments?limit=100`, { token })).body;
        const stored = page.items.find((c: { id: number }) => c.id === res.body.id);
        same(stored.body, Comment.CreateInput.parse({ body }).body);
      }),
      { numRuns: 30 },
    );
    await fc.assert(
      fc.asyncProperty(text, fc.jsonValue({ maxDepth: 4 }), async (type, payload) => {
        const res = await call("POST", "/api/signals", { token, body: { signal_type: type, payload } });
        expect(res.status).toBeLessThan(500);
        if (res.status !== 201) return;
        const want = Signal.CreateInput.parse({ signal_type: type, payload });
        const page = (await call("GET", `/api/signals?signal_type=${encodeURIComponent(want.signal_type)}&limit=100`, { token })).body;
        const stored = page.items.find((s: { id: number }) => s.id === res.body.id);
        same(stored.signal_type, want.signal_type);
        same(stored.payload, want.payload);
      }),
      { numRuns: 30 },
    );
  });
});
