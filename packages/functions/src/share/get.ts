import * as Share from "@shop/core/share";
import { api, json } from "../lib/api.ts";
import { TokenPath } from "../lib/paths.ts";

/** GET /api/share/{token} (public): the shared row with its newest bids and sellers; no chat history, nothing about the owner. 410 once the link has expired. */
export const handler = api({ auth: "none", path: TokenPath, responses: { 200: Share.View }, errors: [404, 410] }, async ({ path }) =>
  json(200, await Share.fromToken(path.token)),
);
