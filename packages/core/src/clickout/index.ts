import { sql, type Expression, type RawBuilder } from "kysely";
import * as z from "zod";
import { Database } from "../db/index.ts";
import { BodyId } from "../ids.ts";
import { notFound } from "../pagination.ts";

/**
 * Clickouts: a user leaving for a bid's shop. Each one is recorded with the
 * outbound handler its URL goes through and whether it looks like click fraud.
 */

export const HANDLERS = ["amazon", "ebay", "affiliate", "direct"] as const;
/** Which outbound handler serves a URL. */
export const Handler = z.enum(HANDLERS);
export type Handler = z.infer<typeof Handler>;

/** A user's clickouts in this many seconds, beyond SUSPICIOUS_AFTER, are suspicious. */
const WINDOW_SECONDS = 60;
/** How many clickouts within the window are normal: the next one is suspicious. */
const SUSPICIOUS_AFTER = 10;

/**
 * The handler table. Hosts are matched on the URL as written (ASCII case
 * folded, port, userinfo and a trailing dot ignored), an exact host or any
 * subdomain of it; the first matching rule wins, anything else is "direct":
 *
 * - amazon: `amazon.<tld>` and `amazon.co|com.<cc>` (amazon.com, amazon.co.uk,
 *   amazon.com.au, ...), and amzn.to (Amazon's own short links).
 * - ebay: `ebay.<tld>` and `ebay.co|com.<cc>` (ebay.com, ebay.de, ebay.co.uk,
 *   ebay.com.au, rover.ebay.com, ...).
 * - affiliate: the redirect hosts of the big affiliate networks: CJ
 *   (anrdoezrs.net, jdoqocy.com, tkqlhce.com, dpbolvw.net, kqzyfj.com), Awin
 *   (awin1.com), ShareASale (shareasale.com), Rakuten (linksynergy.com),
 *   Skimlinks (skimresources.com, redirectingat.com), Impact (sjv.io, pxf.io,
 *   ojrq.net).
 *
 * Patterns are written in the regular-expression subset that JavaScript and
 * Postgres (ARE) read alike, so `handlerFor` and the SQL the insert runs apply
 * the very same rules (a test checks they agree).
 */
const STOREFRONT_TLD = String.raw`([a-z]{2,}|(co|com)\.[a-z]{2})`;

const AFFILIATE_HOSTS = [
  "anrdoezrs.net",
  "jdoqocy.com",
  "tkqlhce.com",
  "dpbolvw.net",
  "kqzyfj.com",
  "awin1.com",
  "shareasale.com",
  "linksynergy.com",
  "skimresources.com",
  "redirectingat.com",
  "sjv.io",
  "pxf.io",
  "ojrq.net",
] as const;

function hostsPattern(alternatives: readonly string[]): string {
  return String.raw`(^|\.)(${alternatives.join("|")})\.?$`;
}

const literal = (host: string) => host.replaceAll(".", String.raw`\.`);

const RULES: readonly { handler: Exclude<Handler, "direct">; pattern: string }[] = [
  { handler: "amazon", pattern: hostsPattern([`amazon\\.${STOREFRONT_TLD}`, literal("amzn.to")]) },
  { handler: "ebay", pattern: hostsPattern([`ebay\\.${STOREFRONT_TLD}`]) },
  { handler: "affiliate", pattern: hostsPattern(AFFILIATE_HOSTS.map(literal)) },
];

/**
 * The host of an http(s) URL, as the WHATWG parser splits it: userinfo runs
 * to the last `@` before the path, and `\` ends the authority as `/` does. The
 * one capture group is the host (Postgres `substring ... from` returns it).
 */
const HOST_PATTERN = String.raw`^https?://(?:[^/?#\\]*@)?([^/?#\\:@]*)`;

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";

/** ASCII-only case folding: Unicode folding differs between engines (U+212A KELVIN SIGN becomes "k" in some). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

const HOST_RE = new RegExp(HOST_PATTERN);
const RULE_RES = RULES.map((rule) => ({ handler: rule.handler, re: new RegExp(rule.pattern) }));

/** Which outbound handler serves this URL, from its host; "direct" when no rule matches. */
export function handlerFor(url: string): Handler {
  const host = HOST_RE.exec(asciiLower(url))?.[1];
  if (host === undefined) return "direct";
  return RULE_RES.find((rule) => rule.re.test(host))?.handler ?? "direct";
}

/** `handlerFor` as a SQL expression over a URL column: the same patterns, the same order. */
function handlerSql(url: Expression<string>): RawBuilder<Handler> {
  const whens = RULES.map((rule) => sql`when target.host ~ ${rule.pattern}::text then ${rule.handler}::text`);
  return sql<Handler>`(
    select case ${sql.join(whens, sql` `)} else 'direct' end
    from (select substring(translate(${url}, ${UPPER}, ${LOWER}) from ${HOST_PATTERN}::text) as host) target
  )`;
}

/** What POST /api/clickouts answers: where to send the user, and how the clickout was judged. */
export const Info = z.object({
  id: z.number(),
  redirect_url: z.string(),
  handler: Handler,
  is_suspicious: z.boolean(),
});
export type Info = z.infer<typeof Info>;

export const CreateInput = z.strictObject({ bid_id: BodyId });
export type CreateInput = z.infer<typeof CreateInput>;

/**
 * Records a clickout on a bid of one of the caller's rows, in one statement:
 * the bid lookup and ownership check, the handler, and the judgement: the
 * user's clickout_window row keeps the times of their last clickouts (up to
 * SUSPICIOUS_AFTER + 1 within WINDOW_SECONDS); ON CONFLICT DO UPDATE makes a
 * racing clickout of the same user wait and then see this one, so each is
 * judged with every clickout before it counted.
 */
export async function create(userId: number, input: CreateInput): Promise<Info> {
  const created = await Database.use((db) =>
    db
      .with("target", (qc) =>
        qc
          .selectFrom("bid")
          .innerJoin("row", "row.id", "bid.row_id")
          .select((s) => ["row.user_id", "bid.row_id", "bid.id as bid_id", "bid.url", handlerSql(s.ref("bid.url")).as("handler")])
          .where("bid.id", "=", input.bid_id)
          .where("row.user_id", "=", userId),
      )
      .with("window", (qc) =>
        qc
          .insertInto("clickout_window")
          .columns(["user_id", "recent"])
          .expression((eb) => eb.selectFrom("target").select(["target.user_id", sql<Date[]>`array[now()]`.as("recent")]))
          .onConflict((oc) =>
            oc.column("user_id").doUpdateSet({
              recent: sql<Date[]>`array(
                select t from unnest(array[now()] || clickout_window.recent) as t
                where t > now() - make_interval(secs => ${WINDOW_SECONDS})
                order by t desc limit ${SUSPICIOUS_AFTER + 1})`,
            }),
          )
          .returning(sql<number>`cardinality(recent)`.as("n")),
      )
      .insertInto("clickout_event")
      .columns(["user_id", "row_id", "bid_id", "url", "handler", "is_suspicious"])
      .expression((eb) =>
        eb
          .selectFrom("target")
          .select([
            "target.user_id",
            "target.row_id",
            "target.bid_id",
            "target.url",
            "target.handler",
            sql<boolean>`(select n from "window") > ${SUSPICIOUS_AFTER}`.as("is_suspicious"),
          ]),
      )
      .returning((r) => ["id", "url", r.ref("handler").$castTo<Handler>().as("handler"), "is_suspicious"])
      .executeTakeFirst(),
  );
  if (!created) throw notFound("bid");
  return { id: created.id, redirect_url: created.url, handler: created.handler, is_suspicious: created.is_suspicious };
}
