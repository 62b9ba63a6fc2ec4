import * as Quote from "@shop/core/quote";
import { api, json } from "../lib/api.ts";
import { TokenPath } from "../lib/paths.ts";

/** POST /api/quotes/{token} (public): the seller's quote becomes their bid on the row, in one statement; a second submission is a 409. */
export const handler = api({ auth: "none", path: TokenPath, body: Quote.SubmitInput, responses: { 201: Quote.Submitted }, errors: [404, 409, 410] }, async ({ path, body }) =>
  json(201, await Quote.submit(path.token, body)),
);
