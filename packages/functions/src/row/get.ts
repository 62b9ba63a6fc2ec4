import * as Row from "@shop/core/row";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}: the row with chat history, its newest bids and sellers; one statement with the session check. */
export const handler = api({ auth: "credential", path: RowPath, responses: { 200: Row.Detail }, errors: [404] }, async ({ credential, path }) =>
  json(200, await Row.fromID(credential, path.row_id)),
);
