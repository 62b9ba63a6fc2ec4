import { sql, type Selectable } from "kysely";
import * as z from "zod";
import { Database } from "../db/index.ts";
import { PURCHASE_STATUSES, type PurchaseEventTable } from "../db/types.ts";
import { VisibleError } from "../error.ts";
import { BodyId, iso } from "../ids.ts";
import { cursorText, keysetPage, notFound, PageQuery, toPage, type Page } from "../pagination.ts";

/**
 * Purchases: a user buying a bid on one of their rows. Amount and currency
 * are copied from the bid, so a purchase keeps its price after the row and
 * bid are gone. An idempotency key makes a retried purchase a replay, not a
 * second charge.
 */

const Status = z.enum(PURCHASE_STATUSES);

/** A purchase as the API shows it; row_id and bid_id are null once their row is deleted. */
export const Info = z.object({
  id: z.number(),
  user_id: z.number(),
  row_id: z.number().nullable(),
  bid_id: z.number().nullable(),
  amount: z.string(),
  currency: z.string(),
  status: Status,
  idempotency_key: z.string().nullable(),
  created_at: z.string(),
});
export type Info = z.infer<typeof Info>;

/** The `idempotency-key` a client may send with a purchase: 1..255 printable ASCII characters. */
const IdempotencyKey = z
  .string()
  .min(1, "must not be empty")
  .max(255, "must be at most 255 characters")
  .regex(/^[\x20-\x7e]*$/, "must be printable ASCII");

/** The headers POST /api/purchases reads. */
export const Headers = z.object({ "idempotency-key": IdempotencyKey.optional() });

export const CreateInput = z.strictObject({ bid_id: BodyId });
export type CreateInput = z.infer<typeof CreateInput>;

export const ListQuery = PageQuery.extend({ status: Status.optional() });
export type ListQuery = z.infer<typeof ListQuery>;

/** What `create` did: a new purchase, or the replay of an earlier one with the same key. */
export interface Created {
  purchase: Info;
  created: boolean;
}

const COLUMNS = [
  "purchase_event.id",
  "purchase_event.user_id",
  "purchase_event.row_id",
  "purchase_event.bid_id",
  // Exact decimal text whatever the driver does with numeric.
  sql<string>`purchase_event.amount::text`.as("amount"),
  "purchase_event.currency",
  "purchase_event.status",
  "purchase_event.idempotency_key",
  "purchase_event.created_at",
] as const;

function toInfo(row: Selectable<PurchaseEventTable>): Info {
  return {
    id: row.id,
    user_id: row.user_id,
    row_id: row.row_id,
    bid_id: row.bid_id,
    amount: row.amount,
    currency: row.currency.trim(),
    status: row.status,
    idempotency_key: row.idempotency_key,
    created_at: iso(row.created_at),
  };
}

/**
 * Creates a pending purchase of a bid on one of the caller's rows. With a key,
 * a repeat (even a concurrent one, even after the row was deleted) returns the
 * first purchase instead of a second; the same key for another bid is a
 * conflict. One statement: racing requests with one key meet in the unique
 * index, where DO UPDATE hands every loser the winner's row (DO NOTHING would
 * hand it nothing, and a second statement would be needed to read it).
 */
export async function create(userId: number, input: CreateInput, idempotencyKey?: string): Promise<Created> {
  const found = await Database.use((db) =>
    db
      .with("inserted", (qc) =>
        qc
          .insertInto("purchase_event")
          .columns(["user_id", "row_id", "bid_id", "amount", "currency", "idempotency_key"])
          .expression((eb) =>
            eb
              .selectFrom("bid")
              .innerJoin("row", "row.id", "bid.row_id")
              .select([
                "row.user_id",
                "bid.row_id",
                "bid.id",
                "bid.price",
                "bid.currency",
                sql<string | null>`cast(${idempotencyKey ?? null} as text)`.as("idempotency_key"),
              ])
              .where("bid.id", "=", input.bid_id)
              .where("row.user_id", "=", userId),
          )
          .onConflict((oc) =>
            oc.columns(["user_id", "idempotency_key"]).doUpdateSet((eb) => ({ idempotency_key: eb.ref("excluded.idempotency_key") })),
          )
          // xmax is 0 on a freshly inserted row, the locker's id on one DO UPDATE touched.
          .returning([...COLUMNS, sql<boolean>`purchase_event.xmax = 0`.as("created")]),
      )
      .selectFrom("inserted")
      .selectAll()
      // The bid (and its row) may be gone since the first purchase: the key still finds it.
      .$if(idempotencyKey !== undefined, (qb) =>
        qb.unionAll((eb) =>
          eb
            .selectFrom("purchase_event")
            .select([...COLUMNS, sql<boolean>`false`.as("created")])
            .where("purchase_event.user_id", "=", userId)
            .where("purchase_event.idempotency_key", "=", idempotencyKey!)
            .where((w) => w.not(w.exists(w.selectFrom("inserted").select("inserted.id")))),
        ),
      )
      .executeTakeFirst(),
  );
  if (!found) throw notFound("bid");
  const { created, ...purchase } = found;
  // bid_id is null once the bid is deleted: then the key alone says it is the same purchase.
  if (!created && purchase.bid_id !== null && purchase.bid_id !== input.bid_id) {
    throw new VisibleError("conflict", "conflict", "this idempotency key was already used for another purchase");
  }
  return { purchase: toInfo(purchase), created };
}

/** The caller's purchases, newest first; one query. */
export async function list(userId: number, query: ListQuery): Promise<Page<Info>> {
  return Database.use(async (db) => {
    const rows = await db
      .selectFrom("purchase_event")
      .select(COLUMNS)
      .select((eb) => cursorText(eb.ref("purchase_event.created_at")).as("cursor_t"))
      .where("purchase_event.user_id", "=", userId)
      .$if(query.status !== undefined, (qb) => qb.where("purchase_event.status", "=", query.status!))
      .$call((qb) => keysetPage(qb, "purchase_event", query))
      .execute();
    return toPage(rows, query.limit, toInfo);
  });
}
