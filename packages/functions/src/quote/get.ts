import * as Quote from "@shop/core/quote";
import { api, json } from "../lib/api.ts";
import { TokenPath } from "../lib/paths.ts";

/** GET /api/quotes/{token} (public): what the invited seller is asked to quote for; 410 once the link has expired. */
export const handler = api({ auth: "none", path: TokenPath, responses: { 200: Quote.View }, errors: [404, 410] }, async ({ path }) =>
  json(200, await Quote.fromToken(path.token)),
);
