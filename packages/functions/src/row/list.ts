import * as Row from "@shop/core/row";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";

/** GET /api/rows: the caller's rows, newest first, keyset-paginated; the session is checked in the same statement. */
export const handler = api({ auth: "credential", query: Row.ListQuery, responses: { 200: PageOf(Row.Summary) } }, async ({ credential, query }) =>
  json(200, await Row.list(credential, query)),
);
