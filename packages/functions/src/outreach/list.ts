import * as Outreach from "@shop/core/outreach";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}/outreach: the row's outreach events, newest first, keyset-paginated. */
export const handler = api({ auth: "user", path: RowPath, query: Outreach.ListQuery, responses: { 200: PageOf(Outreach.Info) }, errors: [404] }, async ({ actor, path, query }) =>
  json(200, await Outreach.list(actor.userId, path.row_id, query)),
);
