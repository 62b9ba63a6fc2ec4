import * as Monitor from "@shop/core/monitor";
import { api, json } from "../lib/api.ts";
import { ReportPath } from "../lib/paths.ts";

/** GET /api/admin/db/{report}: a database report, or the index advisor's suggestions; an unknown report is a 404 listing them. */
export const handler = api({ auth: "admin", path: ReportPath, query: Monitor.Query, responses: { 200: Monitor.Report }, errors: [404] }, async ({ path, query }) =>
  json(200, await Monitor.forAdmin(path.report, query)),
);
