import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { Database } from "@shop/core/db";
import type * as Outreach from "@shop/core/outreach";
import type * as Quote from "@shop/core/quote";

/** Outreach events and seller quotes, written straight through Kysely (no route creates them). */

export async function outreachEvent(
  rowId: number,
  sellerId: number,
  overrides: { channel?: Outreach.Info["channel"]; status?: Outreach.Info["status"]; expired_at?: Date | null; created_at?: Date } = {},
) {
  return Database.use((db) =>
    db
      .insertInto("outreach_event")
      .values({
        row_id: rowId,
        seller_id: sellerId,
        channel: overrides.channel ?? "email",
        ...(overrides.status ? { status: overrides.status } : {}),
        ...(overrides.expired_at !== undefined ? { expired_at: overrides.expired_at } : {}),
        ...(overrides.created_at ? { created_at: overrides.created_at } : {}),
      })
      .returning(["id", "created_at"])
      .executeTakeFirstOrThrow(),
  );
}

/**
 * Inserts `n` events in one statement, three to a timestamp so that pages
 * must break ties on id; statuses cycle through queued, sent, opened.
 */
export async function manyOutreachEvents(rowId: number, sellerId: number, n: number) {
  await Database.use((db) =>
    sql`
      insert into outreach_event (row_id, seller_id, channel, status, created_at)
      select ${rowId}, ${sellerId}, (array['email', 'sms', 'web'])[g % 3 + 1], (array['queued', 'sent', 'opened'])[g % 3 + 1],
             timestamp '2026-03-01 12:00:00.123456+00' - make_interval(secs => g / 3)
      from generate_series(1, ${n}) g`.execute(db),
  );
}

/** A token shaped like the ones outreach mails out: 32 random bytes, base64url. */
export function quoteToken(): string {
  return randomBytes(32).toString("base64url");
}

/** A seller quote on a row; `expiresInDays` below zero makes it already expired. */
export async function quote(
  rowId: number,
  sellerId: number,
  overrides: { token?: string; expiresInDays?: number; status?: Quote.View["status"] } = {},
) {
  const token = overrides.token ?? quoteToken();
  const days = overrides.expiresInDays ?? 7;
  const row = await Database.use((db) =>
    db
      .insertInto("seller_quote")
      .values({
        row_id: rowId,
        seller_id: sellerId,
        token,
        token_expires_at: sql<Date>`now() + make_interval(days => ${days})`,
        ...(overrides.status ? { status: overrides.status } : {}),
      })
      .returning(["id", "token_expires_at"])
      .executeTakeFirstOrThrow(),
  );
  return { id: row.id, token, token_expires_at: row.token_expires_at };
}
