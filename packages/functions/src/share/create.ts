import * as Share from "@shop/core/share";
import { api, json } from "../lib/api.ts";

/** POST /api/share-links: a public read-only link to one of the caller's rows; it never expires without `expires_in_days`. The token is shown here only. */
export const handler = api({ auth: "user", body: Share.CreateInput, responses: { 201: Share.Created }, errors: [404] }, async ({ actor, body, origin }) =>
  json(201, await Share.create(actor.userId, body, origin)),
);
