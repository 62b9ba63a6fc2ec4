import * as Row from "@shop/core/row";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}: the row with chat history, its newest bids and sellers. */
export const handler = api({ auth: "user", path: RowPath }, async ({ actor, path }) =>
  json(200, await Row.fromID(actor.userId, path.row_id)),
);
