import { sql } from "kysely";
import { jsonObjectFrom } from "kysely/helpers/postgres";
import * as z from "zod";
import * as Bid from "../bid/shape.ts";
import { Database } from "../db/index.ts";
import { QUOTE_STATUSES } from "../db/types.ts";
import { VisibleError } from "../error.ts";
import { iso, tokenHash } from "../ids.ts";
import { safeJsonLoads } from "../json.ts";
import { notFound } from "../pagination.ts";
import * as Row from "../row/index.ts";

/**
 * Seller quotes: a seller invited to a row answers through a tokenized link,
 * without an account. The token is the only credential, so the view shows
 * the seller what they are quoting for and nothing about the shopper.
 */

const Status = z.enum(QUOTE_STATUSES);

/** GET /api/quotes/{token}: what the seller is asked to quote for. */
export const View = z.object({
  row: Row.Info.pick({ title: true, choice_factors: true }),
  status: Status,
  token_expires_at: z.string(),
});
export type View = z.infer<typeof View>;

/** numeric(12,2): up to 10 digits before the point, 2 after. */
const PRICE_PATTERN = /^\d{1,10}(\.\d{1,2})?$/;
const PRICE_MESSAGE = 'must be a decimal amount with up to 10 digits and 2 decimals, e.g. "129.00"';

/** "129", "129.5" and 129.5 all become "129.50": money is one canonical decimal string. */
function canonicalPrice(text: string): string {
  const [whole = "0", fraction = ""] = text.split(".");
  return `${whole.replace(/^0+(?=\d)/, "")}.${fraction.padEnd(2, "0")}`;
}

/**
 * A price as a decimal string, or a JSON number that is normalised to one.
 * A float with more than 2 decimals (0.1 + 0.2) is refused, never rounded.
 */
const Price = z
  .union([z.string(), z.number()], 'must be a decimal string such as "129.00"')
  .transform((value, ctx) => {
    // String() writes very large or tiny numbers in exponent form (1e+21, 1e-7), which the pattern refuses.
    const text = typeof value === "number" ? String(value) : value;
    if (!PRICE_PATTERN.test(text)) {
      ctx.addIssue({ code: "custom", message: PRICE_MESSAGE });
      return z.NEVER;
    }
    return canonicalPrice(text);
  });

export const SubmitInput = z.strictObject({
  price: Price,
  currency: z.string().regex(/^[A-Z]{3}$/, "must be 3 uppercase letters, e.g. USD"),
  title: z.string().trim().min(1, "must not be empty").max(500),
  url: z.httpUrl("must be an http(s) URL").max(2048),
});
export type SubmitInput = z.infer<typeof SubmitInput>;

/** POST /api/quotes/{token} answers with the bid the quote became. */
export const Submitted = Bid.Info;

function gone(): VisibleError {
  return new VisibleError("gone", "gone", "this quote link has expired");
}

/** The quote behind a token, with its row's title and choice factors: 404 unknown, 410 expired. One statement. */
export async function fromToken(token: string): Promise<View> {
  return Database.use(async (db) => {
    const quote = await db
      .selectFrom("seller_quote")
      .innerJoin("row", "row.id", "seller_quote.row_id")
      .select([
        "seller_quote.status",
        "seller_quote.token_expires_at",
        sql<boolean>`seller_quote.token_expires_at <= now()`.as("expired"),
        "row.title",
        "row.choice_factors",
      ])
      .where("seller_quote.token_hash", "=", tokenHash(token))
      .executeTakeFirst();
    if (!quote) throw notFound("quote");
    if (quote.expired || quote.status === "expired") throw gone();
    return {
      row: {
        title: quote.title,
        choice_factors: safeJsonLoads(quote.choice_factors, { default: [], field: "choice_factors", schema: Row.ChoiceFactors }),
      },
      status: quote.status,
      token_expires_at: iso(quote.token_expires_at),
    };
  });
}

/**
 * Submits the seller's quote: creates their bid on the row and marks the
 * quote submitted, in one statement. 404 unknown, 410 expired, 409 already
 * submitted. Locks are taken in the order a row's deletion takes them (the
 * row, then its quote), so a racing DELETE of the row waits instead of
 * deadlocking; racing submissions queue on the quote's lock and the later
 * ones see it submitted.
 */
export async function submit(token: string, input: SubmitInput): Promise<Bid.Info> {
  const found = await Database.use((db) =>
    db
      .with("target", (qc) =>
        qc
          .selectFrom("row")
          .select("row.id")
          .where("row.id", "=", (eb) => eb.selectFrom("seller_quote").select("seller_quote.row_id").where("seller_quote.token_hash", "=", tokenHash(token)))
          .forKeyShare(),
      )
      .with("quote", (qc) =>
        qc
          .selectFrom("seller_quote")
          .select([
            "seller_quote.id",
            "seller_quote.row_id",
            "seller_quote.seller_id",
            "seller_quote.status",
            sql<boolean>`seller_quote.token_expires_at <= now()`.as("expired"),
          ])
          .where("seller_quote.token_hash", "=", tokenHash(token))
          .where("seller_quote.row_id", "in", (eb) => eb.selectFrom("target").select("target.id"))
          .forUpdate(),
      )
      .with("created", (qc) =>
        qc
          .insertInto("bid")
          .columns(["row_id", "seller_id", "title", "price", "currency", "url", "source"])
          .expression((eb) =>
            eb
              .selectFrom("quote")
              .select([
                "quote.row_id",
                "quote.seller_id",
                // Typed: untyped parameters in INSERT ... SELECT would arrive as text.
                sql<string>`${input.title}::text`.as("title"),
                sql<string>`${input.price}::numeric`.as("price"),
                sql<string>`${input.currency}::text`.as("currency"),
                sql<string>`${input.url}::text`.as("url"),
                sql<string>`'quote'`.as("source"),
              ])
              .where("quote.status", "=", "pending")
              .where("quote.expired", "=", false),
          )
          .returning((eb) => Bid.columns(eb)),
      )
      .with("submitted", (qc) =>
        qc
          .updateTable("seller_quote")
          .set((eb) => ({ status: "submitted", bid_id: eb.selectFrom("created").select("created.id") }))
          .where("seller_quote.id", "in", (eb) => eb.selectFrom("quote").select("quote.id"))
          .where((eb) => eb.exists(eb.selectFrom("created").select("created.id"))),
      )
      .selectFrom("quote")
      .select(["quote.status", "quote.expired"])
      .select((eb) => jsonObjectFrom(eb.selectFrom("created").selectAll("created")).as("bid"))
      .executeTakeFirst(),
  );
  if (!found) throw notFound("quote");
  if (found.expired || found.status === "expired") throw gone();
  if (!found.bid) throw new VisibleError("conflict", "conflict", "this quote has already been submitted");
  return Bid.toInfo(found.bid);
}
