import { sql } from "kysely";
import { Database } from "@shop/core/db";
import { tokenHash, unguessableToken } from "@shop/core/ids";
import * as Clickout from "@shop/core/clickout";
import * as User from "@shop/core/user";

/**
 * The demo dataset `npm start` puts in a fresh embedded database: a shopper
 * with rows in every stage, bids from several sellers (one selected, some
 * liked), comments, outreach, a pending seller quote, a share link, a
 * purchase, clickouts, signals, merchants, and an admin. Small and readable:
 * the bulk generator for benchmarks is a different tool.
 */

export const DEMO_EMAIL = "demo@example.com";
const ADMIN_EMAIL = "admin@example.com";

export interface SeedResult {
  seeded: boolean;
  /** A public quote link a seller would get (GET/POST /api/quotes/{token}). */
  quoteToken: string | null;
  /** A public share link (GET /api/share/{token}). */
  shareToken: string | null;
}

const SELLERS = [
  { name: "Desk Depot", domain: "deskdepot.example" },
  { name: "Amazon", domain: "amazon.com" },
  { name: "Oak & Iron Workshop", domain: "oakandiron.example" },
  { name: "eBay seller: vintage_finds", domain: "ebay.com" },
];

const ROWS = [
  {
    title: "Standing desk, solid oak top, under $700",
    status: "reviewing",
    outreach_status: "completed",
    choice_factors: ["solid wood", { max_price: 700 }, "ships in 2 weeks"],
    chat_history: [
      { role: "user", content: "I need a standing desk with a real oak top." },
      { role: "assistant", content: "I found 6 options and asked 3 workshops for quotes." },
    ],
    bids: [
      { seller: 0, title: "FlexiRise Oak 160x80", price: "649.00", url: "https://deskdepot.example/flexirise-oak" },
      { seller: 1, title: "Electric standing desk, oak veneer", price: "429.99", url: "https://www.amazon.com/dp/B0DESK0001", liked: true },
      { seller: 2, title: "Custom oak slab desk frame", price: "690.00", url: "https://oakandiron.example/slab", selected: true },
      { seller: 3, title: "Vintage drafting table (oak)", price: "310.00", url: "https://www.ebay.com/itm/1234567890" },
      { seller: null, title: "Affiliate deal: oak desk bundle", price: "599.00", url: "https://www.anrdoezrs.net/click-123-456?url=desk" },
    ],
  },
  {
    title: "Noise-cancelling headphones for travel",
    status: "bids_arriving",
    outreach_status: "in_progress",
    choice_factors: ["battery > 30h", "foldable"],
    chat_history: [{ role: "user", content: "Over-ear, foldable, long battery." }],
    bids: [
      { seller: 1, title: "QuietFlight 45", price: "279.00", url: "https://www.amazon.com/dp/B0HEAD0045", liked: true },
      { seller: 3, title: "QuietFlight 35 (used, like new)", price: "149.50", url: "https://www.ebay.com/itm/2222222222" },
    ],
  },
  {
    title: "Espresso grinder for a small kitchen",
    status: "sourcing",
    outreach_status: "not_started",
    choice_factors: ["burr", "under 40cm tall"],
    chat_history: [],
    bids: [],
  },
  {
    title: "Birthday gift: a good chef's knife",
    status: "purchased",
    outreach_status: "completed",
    choice_factors: ["Japanese steel", { max_price: 150 }],
    chat_history: [{ role: "assistant", content: "Purchased the 21cm gyuto." }],
    bids: [{ seller: 0, title: "21cm gyuto, VG-10", price: "129.00", url: "https://deskdepot.example/gyuto", selected: true }],
  },
  {
    title: "Winter tyres 205/55 R16",
    status: "archived",
    outreach_status: "failed",
    choice_factors: [],
    chat_history: [],
    bids: [],
  },
] as const;

/** Seeds the demo dataset unless the database already has users; idempotent. */
export async function seedDemo(): Promise<SeedResult> {
  const existing = await Database.use((db) => db.selectFrom("user").select("id").limit(1).executeTakeFirst());
  if (existing) return { seeded: false, quoteToken: null, shareToken: null };

  const demo = await User.ensure({ email: DEMO_EMAIL, name: "Demo Shopper" });
  await User.ensure({ email: ADMIN_EMAIL, name: "Demo Admin", isAdmin: true });
  const quoteToken = unguessableToken();
  const shareToken = unguessableToken();

  await Database.transaction(async (tx) => {
    const sellers = await tx.insertInto("seller").values(SELLERS).returning("id").execute();
    const sellerId = (i: number | null) => (i === null ? null : sellers[i]!.id);
    const rowIds: number[] = [];
    for (const [i, r] of ROWS.entries()) {
      const row = await tx
        .insertInto("row")
        .values({
          user_id: demo.id,
          title: r.title,
          status: r.status,
          outreach_status: r.outreach_status,
          choice_factors: JSON.stringify(r.choice_factors),
          chat_history: JSON.stringify(r.chat_history),
          created_at: sql<Date>`now() - make_interval(days => ${ROWS.length - i})`,
          updated_at: sql<Date>`now() - make_interval(days => ${ROWS.length - i})`,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      rowIds.push(row.id);
      for (const [j, b] of r.bids.entries()) {
        const liked = "liked" in b ? b.liked : false;
        const selected = "selected" in b ? b.selected : false;
        const bid = await tx
          .insertInto("bid")
          .values({
            row_id: row.id,
            seller_id: sellerId(b.seller),
            title: b.title,
            price: b.price,
            currency: "USD",
            url: b.url,
            source: b.seller === 2 ? "quote" : "search",
            is_liked: liked,
            is_selected: selected,
            created_at: sql<Date>`now() - make_interval(days => ${ROWS.length - i}) + make_interval(hours => ${j + 1})`,
          })
          .returning("id")
          .executeTakeFirstOrThrow();
        if (j === 0) {
          await tx
            .insertInto("comment")
            .values([
              { row_id: row.id, user_id: demo.id, body: "Shortlisting this one." },
              { row_id: row.id, bid_id: bid.id, user_id: demo.id, body: "Can it ship before the 15th?" },
            ])
            .execute();
        }
        if (selected) {
          await tx.updateTable("row").set({ selected_bid_id: bid.id }).where("id", "=", row.id).execute();
        }
        if (selected && r.status === "purchased") {
          await tx
            .insertInto("purchase_event")
            .values({ user_id: demo.id, row_id: row.id, bid_id: bid.id, amount: b.price, currency: "USD", status: "completed" })
            .execute();
        }
        if (liked) {
          await tx
            .insertInto("clickout_event")
            .values({ user_id: demo.id, row_id: row.id, bid_id: bid.id, url: b.url, handler: Clickout.handlerFor(b.url) })
            .execute();
        }
      }
    }
    const [deskRow, headphonesRow] = rowIds;
    await tx
      .insertInto("outreach_event")
      .values([
        { row_id: deskRow!, seller_id: sellers[2]!.id, channel: "email", status: "responded" },
        { row_id: deskRow!, seller_id: sellers[0]!.id, channel: "web", status: "opened" },
        { row_id: headphonesRow!, seller_id: sellers[0]!.id, channel: "email", status: "sent", expired_at: sql<Date>`now() + interval '3 days'` },
      ])
      .execute();
    await tx
      .insertInto("seller_quote")
      .values({
        row_id: headphonesRow!,
        seller_id: sellers[0]!.id,
        token_hash: tokenHash(quoteToken),
        token_expires_at: sql<Date>`now() + interval '7 days'`,
      })
      .execute();
    await tx
      .insertInto("share_link")
      .values({ token_hash: tokenHash(shareToken), resource_type: "row", resource_id: deskRow!, created_by: demo.id })
      .execute();
    await tx
      .insertInto("user_signal")
      .values([
        { user_id: demo.id, signal_type: "prefers_brand", payload: JSON.stringify({ brand: "oakandiron" }) },
        { user_id: demo.id, signal_type: "budget_hint", payload: JSON.stringify({ max: 700, currency: "USD" }) },
      ])
      .execute();
    await tx
      .insertInto("merchant")
      .values([
        { name: "Desk Depot", status: "active", stripe_onboarding_complete: true },
        { name: "Oak & Iron Workshop", status: "pending" },
        { name: "Gadget Barn", status: "suspended", stripe_onboarding_complete: true },
      ])
      .execute();
  });
  return { seeded: true, quoteToken, shareToken };
}
