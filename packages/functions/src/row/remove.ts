import * as Row from "@shop/core/row";
import { api, noContent } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** DELETE /api/rows/{row_id}: deletes the caller's row; with it its bids, comments, share links, outreach and quotes (purchases and clickouts are kept). */
export const handler = api({ auth: "user", path: RowPath, responses: { 204: null }, errors: [404] }, async ({ actor, path }) => {
  await Row.remove(actor.userId, path.row_id);
  return noContent();
});
