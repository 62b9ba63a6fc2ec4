/**
 * The load test's baseline: node:http and one pg.Pool({ max: 10 }), no
 * framework, no validation, no logging. It answers the two routes of the load
 * mix with the SQL our server runs for them, and the same JSON.
 *
 *   node bench/naive-server.ts --port 3001 --database-url postgres://...
 */
import { createHash } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import pg from "pg";

// ---------------------------------------------------------------------------
// THE SQL: what our server runs for these routes today, as `DB_ECHO=true` on
// our server prints it. Keep it in step when our routes' SQL changes.
const PAGE = 20; // our default ?limit=; the queries fetch one more to see whether a next page exists
const ACTOR = `with "actor" as (select "auth_session"."id" as "session_id", "auth_session"."user_id", "auth_session"."last_seen_at" from "auth_session" where "auth_session"."token_hash" = $1 and "auth_session"."revoked_at" is null and "auth_session"."expires_at" > now()), "touched" as (update "auth_session" set "last_seen_at" = now() from "actor" where "auth_session"."id" = "actor"."session_id" and ("actor"."last_seen_at" is null or "actor"."last_seen_at" < now() - interval '1 minute'))`;
const SQL = {
  /** $1 token hash, $2 limit + 1. No result: 401. */
  rows: `${ACTOR} select "actor"."user_id" as "actor_id", "page".* from "actor" left join lateral (select "row"."id", "row"."user_id", "row"."title", "row"."status", "row"."outreach_status", "row"."choice_factors", "row"."created_at", "row"."updated_at", to_char("row"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_t", (select count(*) as "n" from "bid" where "bid"."row_id" = "row"."id") as "bid_count" from "row" where "row"."user_id" = "actor"."user_id" and true order by "row"."created_at" desc, "row"."id" desc limit $2) as "page" on true`,
  /** $1 token hash, $2 row id, $3 limit + 1. No result: 401; row_id_found null: 404. */
  bids: `${ACTOR} select "actor"."user_id" as "actor_id", "row"."id" as "row_id_found", "page".* from "actor" left join "row" on "row"."id" = $2 and "row"."user_id" = "actor"."user_id" left join lateral (select "bid"."id", "bid"."row_id", "bid"."seller_id", "bid"."title", bid.price::text as "price", "bid"."currency", "bid"."url", "bid"."image_url", "bid"."source", "bid"."is_selected", "bid"."is_liked", "bid"."created_at", (select to_json(obj) from (select "seller"."id", "seller"."name", "seller"."domain" from "seller" where "seller"."id" = "bid"."seller_id") as obj) as "seller", to_char("bid"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursor_t" from "bid" where "bid"."row_id" = "row"."id" and true order by "bid"."created_at" desc, "bid"."id" desc limit $3) as "page" on true`,
};
// ---------------------------------------------------------------------------

const { values } = parseArgs({ options: { port: { type: "string" }, "database-url": { type: "string" } } });
pg.types.setTypeParser(20, Number); // int8 as a number, as our server answers
const pool = new pg.Pool({ connectionString: values["database-url"], max: 10 });

type Row = Record<string, unknown> & { id: number; cursor_t: string };
function page(rows: Row[], item: (r: Row) => object) {
  const last = rows.length > PAGE ? rows[PAGE - 1]! : null;
  const next_cursor = last && Buffer.from(JSON.stringify({ t: last.cursor_t, id: last.id })).toString("base64url");
  return { items: rows.slice(0, PAGE).map(item), next_cursor };
}
const iso = (v: unknown) => new Date(v as string).toISOString();
const send = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
const fail = (res: ServerResponse, status: number, code: string) => send(res, status, { error: { code, message: code } });

createServer(async (req, res) => {
  try {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    const hash = createHash("sha256").update(token).digest("hex");
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/api/rows") {
      const { rows } = await pool.query(SQL.rows, [hash, PAGE + 1]);
      if (rows.length === 0) return fail(res, 401, "unauthorized");
      const items = rows.filter((r) => r.id !== null) as Row[];
      return send(res, 200, page(items, ({ cursor_t: _, actor_id: __, ...r }) => ({ ...r, choice_factors: JSON.parse(r.choice_factors as string), created_at: iso(r.created_at), updated_at: iso(r.updated_at) })));
    }
    const rowId = /^\/api\/rows\/(\d+)\/bids$/.exec(path)?.[1];
    if (!rowId) return fail(res, 404, "not_found");
    const { rows } = await pool.query(SQL.bids, [hash, Number(rowId), PAGE + 1]);
    if (rows.length === 0) return fail(res, 401, "unauthorized");
    if (rows[0].row_id_found === null) return fail(res, 404, "not_found");
    const bids = rows.filter((r) => r.id !== null) as Row[];
    send(res, 200, page(bids, (b) => ({ id: b.id, row_id: b.row_id, seller_id: b.seller_id, seller: b.seller, title: b.title, price: b.price, currency: (b.currency as string).trim(), url: b.url, image_url: b.image_url, source: b.source, is_selected: b.is_selected, is_liked: b.is_liked, created_at: iso(b.created_at) })));
  } catch (err) {
    process.stderr.write(`${String(err)}\n`);
    fail(res, 500, "internal");
  }
}).listen(Number(values.port ?? 3001), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0)); // an orderly exit, so --cpu-prof writes its profile
