import * as Monitor from "@shop/core/monitor";
import { api, json } from "../lib/api.ts";

/** GET /api/admin/db/{report}: a database report, or the index advisor's suggestions; an unknown report is a 400 listing them. */
export const handler = api({ auth: "admin", path: Monitor.Path, query: Monitor.Query, responses: { 200: Monitor.Report } }, async ({ path, query }) =>
  json(200, await Monitor.forAdmin(path.report, query)),
);
