import * as Purchase from "@shop/core/purchase";
import { api, json } from "../lib/api.ts";

/** POST /api/purchases: a pending purchase of a bid, its amount and currency copied from it. A repeated `idempotency-key` with the same bid answers 200 with the first purchase; with another bid, 409. */
export const handler = api(
  { auth: "user", body: Purchase.CreateInput, headers: Purchase.Headers, responses: { 200: Purchase.Info, 201: Purchase.Info }, errors: [404, 409] },
  async ({ actor, body, headers }) => {
    const { purchase, created } = await Purchase.create(actor.userId, body, headers["idempotency-key"]);
    return json(created ? 201 : 200, purchase);
  },
);
