import { sql } from "kysely";
import type { Handler } from "@shop/core/clickout";
import { Database } from "@shop/core/db";

/** Test data for clickouts, purchases and signals, written straight through Kysely. */

/**
 * URL → handler: every rule of the handler table, and the look-alikes and URL
 * tricks that must not fool it. Shared by the pure-function unit test and the
 * API test, which checks that the SQL the insert runs agrees.
 */
export const HANDLER_CASES: ReadonlyArray<readonly [url: string, handler: Handler]> = [
  ["https://www.amazon.com/dp/B000TEST", "amazon"],
  ["https://amazon.co.uk/gp/product/B01", "amazon"],
  ["https://smile.amazon.de/dp/B02", "amazon"],
  ["https://www.amazon.com.au/dp/B03", "amazon"],
  ["HTTPS://WWW.AMAZON.CO.JP/dp/B04", "amazon"],
  ["https://www.amazon.com:443/dp/B05", "amazon"],
  ["https://www.amazon.com./dp/B06", "amazon"],
  ["https://amzn.to/3abcDEF", "amazon"],
  ["https://a@b@www.amazon.com/dp/B07", "amazon"],
  ["https://www.ebay.com/itm/123", "ebay"],
  ["https://www.ebay.co.uk/itm/456", "ebay"],
  ["http://ebay.de/itm/789", "ebay"],
  ["https://rover.ebay.com/rover/1/711-53200-19255-0/1", "ebay"],
  ["https://user:pass@www.ebay.com/itm/1", "ebay"],
  ["https://www.anrdoezrs.net/click-100-200", "affiliate"],
  ["https://www.jdoqocy.com/click-100-200", "affiliate"],
  ["https://www.tkqlhce.com/click-100-200", "affiliate"],
  ["https://www.dpbolvw.net/click-100-200", "affiliate"],
  ["https://www.kqzyfj.com/click-100-200", "affiliate"],
  ["https://www.awin1.com/cread.php?awinmid=1&awinaffid=2", "affiliate"],
  ["https://shareasale.com/r.cfm?b=1&u=2&m=3", "affiliate"],
  ["https://click.linksynergy.com/deeplink?id=abc", "affiliate"],
  ["https://go.skimresources.com/?id=1X2&url=https%3A%2F%2Fshop.example", "affiliate"],
  ["https://go.redirectingat.com/?id=1X2&url=https%3A%2F%2Fwww.amazon.com", "affiliate"],
  ["https://brand.sjv.io/c/1/2/3", "affiliate"],
  ["https://imp.pxf.io/c/1/2/3", "affiliate"],
  ["https://shop.ojrq.net/c/1/2/3", "affiliate"],
  ["https://shop.example/desk", "direct"],
  ["https://www.walmart.com/ip/1", "direct"],
  ["https://notamazon.com/dp/B08", "direct"],
  ["https://amazon.evil.example/dp/B09", "direct"],
  ["https://amazon.com.evil.io/dp/B10", "direct"],
  ["https://www.amazon-deals.com/", "direct"],
  ["https://evil.example/www.amazon.com", "direct"],
  ["https://evil.example/?next=https://www.amazon.com", "direct"],
  ["https://www.amazon.com@evil.example/", "direct"],
  ["https://evil.example\\@www.amazon.com/", "direct"],
  ["https://fakeshareasale.com/r.cfm", "direct"],
  ["https://shareasale.com.evil.net/r.cfm", "direct"],
  ["https://\u212Aqzyfj.com/click", "direct"],
  ["ftp://amazon.com/pub", "direct"],
  ["amazon.com/dp/B11", "direct"],
  ["javascript:alert(1)//www.amazon.com", "direct"],
  ["not a url", "direct"],
];

/**
 * Inserts `n` clickouts of the user, `secondsAgo` old (not tied to any bid),
 * and the user's clickout window as Clickout.create would have left it.
 */
export async function clickouts(userId: number, n: number, secondsAgo: number) {
  await Database.use(async (db) => {
    await sql`
      insert into clickout_event (user_id, url, handler, created_at)
      select ${userId}, 'https://shop.example/' || g, 'direct', now() - make_interval(secs => ${secondsAgo})
      from generate_series(1, ${n}) g`.execute(db);
    await sql`
      insert into clickout_window (user_id, recent)
      select ${userId}, array(select created_at from clickout_event where user_id = ${userId} order by created_at desc limit 11)
      on conflict (user_id) do update set recent = excluded.recent`.execute(db);
  });
}

/** Inserts `n` purchases of the user, three to a created_at (ties for pagination tests). */
export async function purchases(userId: number, n: number, status = "pending") {
  await Database.use((db) =>
    sql`
      insert into purchase_event (user_id, amount, currency, status, created_at)
      select ${userId}, (g % 90) + 0.5, 'USD', ${status},
             timestamp '2026-03-01 12:00:00.123456+00' - make_interval(secs => g / 3)
      from generate_series(1, ${n}) g`.execute(db),
  );
}

/** Inserts `n` signals of the user, three to a created_at (ties for pagination tests). */
export async function signals(userId: number, n: number, signalType = "viewed_bid") {
  await Database.use((db) =>
    sql`
      insert into user_signal (user_id, signal_type, payload, created_at)
      select ${userId}, ${signalType}, '{"n":' || g || '}',
             timestamp '2026-03-01 12:00:00.123456+00' - make_interval(secs => g / 3)
      from generate_series(1, ${n}) g`.execute(db),
  );
}
