import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { Database } from "@shop/core/db";
import * as Session from "@shop/core/session";
import * as User from "@shop/core/user";

/** Test data written straight through core and Kysely; every fixture returns what tests need. */

export interface TestUser {
  id: number;
  email: string;
  token: string;
  sessionId: number;
}

export async function user(options: { admin?: boolean; email?: string } = {}): Promise<TestUser> {
  const email = options.email ?? `u${randomBytes(5).toString("hex")}@example.com`;
  const info = await User.ensure({ email, name: "Test User", isAdmin: options.admin ?? false });
  const session = await Session.create(info.id);
  return { id: info.id, email, token: session.token, sessionId: session.id };
}

/** Another session for the same user, with a custom expiry (negative days: already expired). */
export async function sessionFor(userId: number, options: { days?: number } = {}) {
  const session = await Session.create(userId, { ttlDays: options.days ?? 30 });
  return { token: session.token, sessionId: session.id };
}

export async function seller(name = "Acme", domain: string | null = "acme.example") {
  return Database.use((db) =>
    db.insertInto("seller").values({ name, domain }).returning(["id", "name", "domain"]).executeTakeFirstOrThrow(),
  );
}

export async function row(userId: number, overrides: { title?: string; status?: string; created_at?: Date } = {}) {
  return Database.use((db) =>
    db
      .insertInto("row")
      .values({
        user_id: userId,
        title: overrides.title ?? "a standing desk",
        ...(overrides.status ? { status: overrides.status as never } : {}),
        ...(overrides.created_at ? { created_at: overrides.created_at } : {}),
      })
      .returning(["id", "created_at"])
      .executeTakeFirstOrThrow(),
  );
}

export async function bid(
  rowId: number,
  overrides: {
    sellerId?: number | null;
    price?: string;
    url?: string;
    is_liked?: boolean;
    is_selected?: boolean;
    created_at?: Date;
    title?: string;
  } = {},
) {
  const inserted = await Database.use((db) =>
    db
      .insertInto("bid")
      .values({
        row_id: rowId,
        seller_id: overrides.sellerId ?? null,
        title: overrides.title ?? "Desk 3000",
        price: overrides.price ?? "199.99",
        currency: "USD",
        url: overrides.url ?? "https://www.amazon.com/dp/B000TEST",
        is_liked: overrides.is_liked ?? false,
        is_selected: overrides.is_selected ?? false,
        ...(overrides.created_at ? { created_at: overrides.created_at } : {}),
      })
      .returning(["id", "created_at"])
      .executeTakeFirstOrThrow(),
  );
  // The row names its selected bid too, as Bid.select leaves it.
  if (overrides.is_selected) {
    await Database.use((db) => db.updateTable("row").set({ selected_bid_id: inserted.id }).where("id", "=", rowId).execute());
  }
  return inserted;
}

/** Inserts `n` bids in one statement (for "does not grow with bids" tests). */
export async function manyBids(rowId: number, n: number, sellerId: number | null = null) {
  await Database.use((db) =>
    sql`
      insert into bid (row_id, seller_id, title, price, currency, url, created_at)
      select ${rowId}, ${sellerId}, 'bid ' || g, (g % 500) + 0.99, 'USD', 'https://shop.example/' || g,
             now() - make_interval(secs => g)
      from generate_series(1, ${n}) g`.execute(db),
  );
}

/** Walks every page of a list, returning all items and the number of pages. */
export async function allPages<T>(
  fetchPage: (cursor: string | null) => Promise<{ items: T[]; next_cursor: string | null }>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.next_cursor;
    pages++;
    if (pages > 1000) throw new Error("pagination does not end");
  } while (cursor);
  return { items, pages };
}
