import * as Row from "@shop/core/row";
import { api, json } from "../lib/api.ts";

/** GET /api/rows: the caller's rows, newest first, keyset-paginated. */
export const handler = api({ auth: "user", query: Row.ListQuery }, async ({ actor, query }) =>
  json(200, await Row.list(actor.userId, query)),
);
