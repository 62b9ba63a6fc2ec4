import * as Health from "@shop/core/health";
import { migrationNames } from "@shop/migrations/migrations/names";
import { api, json } from "../lib/api.ts";

/** GET /health/ready (public): readiness; the database answers within DB_POOL_TIMEOUT and every migration is applied, else a 503 with the same report. */
export const handler = api({ auth: "none", responses: { 200: Health.Readiness, 503: Health.Readiness } }, async () => {
  const report = await Health.ready(migrationNames);
  return json(report.status === "ok" ? 200 : 503, report);
});
