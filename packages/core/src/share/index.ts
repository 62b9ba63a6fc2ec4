import { sql } from "kysely";
import * as z from "zod";
import * as Audit from "../audit/index.ts";
import * as Bid from "../bid/shape.ts";
import { Database } from "../db/index.ts";
import { SHARE_RESOURCE_TYPES } from "../db/types.ts";
import { VisibleError } from "../error.ts";
import { BodyId, iso, tokenHash, unguessableToken } from "../ids.ts";
import { safeJsonLoads } from "../json.ts";
import { notFound } from "../pagination.ts";
import * as Row from "../row/index.ts";

/**
 * Share links: a public, read-only view of one of a user's rows, reached by an
 * unguessable token. The view leaves out everything personal (chat history,
 * the owner), so a leaked link shows no more than the shopper meant to share.
 */

const ResourceType = z.enum(SHARE_RESOURCE_TYPES);

export const CreateInput = z.strictObject({
  resource_type: ResourceType,
  resource_id: BodyId,
  expires_in_days: z.number().int("must be a whole number").min(1).max(365).optional(),
});
export type CreateInput = z.infer<typeof CreateInput>;

/** POST /api/share-links answers with this; the token is shown here and nowhere else in the API. */
export const Created = z.object({
  token: z.string(),
  url: z.string(),
  expires_at: z.string().nullable(),
});
export type Created = z.infer<typeof Created>;

/** The shared row: no chat_history, no owner. */
const SharedRow = Row.Info.pick({
  id: true,
  title: true,
  status: true,
  outreach_status: true,
  choice_factors: true,
  created_at: true,
  updated_at: true,
});

/** GET /api/share/{token}: the row, its newest bids with sellers, and the selected bid. */
export const View = z.object({
  row: SharedRow,
  bids: z.array(Bid.Info),
  selected_bid_id: z.number().nullable(),
});
export type View = z.infer<typeof View>;

/** Where the public view of a token is served, under the API's origin. */
const VIEW_PATH = "/api/share/";

/**
 * Creates a share link for one of the caller's rows (404 otherwise) and
 * audits it, in one statement: no row of the caller's, no link and no audit
 * row. `origin` is the `https://host` the link should point at.
 */
export async function create(userId: number, input: CreateInput, origin: string): Promise<Created> {
  const token = unguessableToken();
  return Database.use(async (db) => {
    const link = await db
      .with("link", (qc) =>
        qc
          .insertInto("share_link")
          .columns(["token_hash", "resource_type", "resource_id", "created_by", "expires_at"])
          .expression((eb) =>
            eb
              .selectFrom("row")
              .select([
                sql.val(tokenHash(token)).as("token_hash"),
                sql.val(input.resource_type).as("resource_type"),
                "row.id",
                "row.user_id",
                (input.expires_in_days === undefined
                  ? sql<Date | null>`null::timestamptz`
                  : sql<Date | null>`now() + make_interval(days => ${input.expires_in_days})`
                ).as("expires_at"),
              ])
              .where("row.id", "=", input.resource_id)
              .where("row.user_id", "=", userId),
          )
          .returning(["id", "expires_at"]),
      )
      .with("audit", (qc) =>
        Audit.insertFor(qc, "link", {
          action: "share_link.create",
          success: true,
          userId,
          resourceType: input.resource_type,
          resourceId: input.resource_id,
          details: sql`json_build_object('share_link_id', link.id, 'expires_in_days', ${input.expires_in_days ?? null}::int)`,
        }),
      )
      .selectFrom("link")
      .select(["link.expires_at"])
      .executeTakeFirst();
    if (!link) throw notFound("row");
    return {
      token,
      url: `${origin}${VIEW_PATH}${token}`,
      expires_at: link.expires_at ? iso(link.expires_at) : null,
    };
  });
}

/**
 * The public view behind a token: 404 unknown, 410 expired. One statement
 * whatever the bid count; an expired link loads neither row nor bids.
 */
export async function fromToken(token: string): Promise<View> {
  return Database.use(async (db) => {
    const found = await db
      .selectFrom("share_link")
      .leftJoin("row", (join) =>
        join
          .onRef("row.id", "=", "share_link.resource_id")
          .on("share_link.resource_type", "=", "row")
          .on(sql<boolean>`(share_link.expires_at is null or share_link.expires_at > now())`),
      )
      .select((eb) => [
        sql<boolean>`share_link.expires_at is not null and share_link.expires_at <= now()`.as("expired"),
        "row.id",
        "row.title",
        "row.status",
        "row.outreach_status",
        "row.choice_factors",
        "row.created_at",
        "row.updated_at",
        "row.selected_bid_id",
        Bid.newestWithSellers(eb, Row.DETAIL_BIDS),
      ])
      .where("share_link.token_hash", "=", tokenHash(token))
      .executeTakeFirst();
    if (!found) throw notFound("share link");
    if (found.expired) throw new VisibleError("gone", "gone", "this share link has expired");
    const { id, title, status, outreach_status, choice_factors, created_at, updated_at } = found;
    // resource_id is polymorphic, not a foreign key: a link can outlive its row if anything but Row.remove deletes it.
    if (id === null || title === null || status === null || outreach_status === null || created_at === null || updated_at === null) {
      throw notFound("share link");
    }
    return {
      row: {
        id,
        title,
        status,
        outreach_status,
        choice_factors: safeJsonLoads(choice_factors, { default: [], field: "choice_factors", schema: Row.ChoiceFactors }),
        created_at: iso(created_at),
        updated_at: iso(updated_at),
      },
      bids: found.bids.map(Bid.toInfo),
      selected_bid_id: found.selected_bid_id ?? null,
    };
  });
}
