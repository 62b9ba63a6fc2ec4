import { sql } from "kysely";
import { Database } from "@shop/core/db";

/** Fixtures for the bid and comment suites, beside the shared ones in fixtures.ts. */

/**
 * Inserts `n` bids in one statement, three to a timestamp, so pages must break
 * created_at ties by id. Microsecond timestamps catch cursors that round to ms.
 */
export async function tiedBids(rowId: number, n: number, sellerId: number | null = null) {
  await Database.use((db) =>
    sql`
      insert into bid (row_id, seller_id, title, price, currency, url, is_liked, created_at)
      select ${rowId}, ${sellerId}, 'bid ' || g, (g % 500) + 0.99, 'USD', 'https://shop.example/' || g, g % 2 = 0,
             timestamp '2026-03-01 12:00:00.123456+00' - make_interval(secs => g / 3)
      from generate_series(1, ${n}) g`.execute(db),
  );
}

export async function comment(
  rowId: number,
  userId: number,
  overrides: { bidId?: number | null; body?: string; created_at?: Date } = {},
) {
  return Database.use((db) =>
    db
      .insertInto("comment")
      .values({
        row_id: rowId,
        user_id: userId,
        bid_id: overrides.bidId ?? null,
        body: overrides.body ?? "looks good",
        ...(overrides.created_at ? { created_at: overrides.created_at } : {}),
      })
      .returning(["id", "created_at"])
      .executeTakeFirstOrThrow(),
  );
}

/** Inserts `n` comments in one statement, three to a timestamp (ties broken by id). */
export async function tiedComments(rowId: number, userId: number, n: number) {
  await Database.use((db) =>
    sql`
      insert into comment (row_id, user_id, body, created_at)
      select ${rowId}, ${userId}, 'comment ' || g,
             timestamp '2026-03-01 12:00:00.123456+00' + make_interval(secs => g / 3)
      from generate_series(1, ${n}) g`.execute(db),
  );
}

/** The bid's selection and like flags as stored. */
export async function bidFlags(rowId: number) {
  return Database.use((db) =>
    db.selectFrom("bid").select(["id", "is_selected", "is_liked"]).where("row_id", "=", rowId).orderBy("id").execute(),
  );
}

/** The row's status and updated_at as stored. */
export async function rowState(rowId: number) {
  return Database.use((db) =>
    db.selectFrom("row").select(["status", "updated_at"]).where("id", "=", rowId).executeTakeFirstOrThrow(),
  );
}
