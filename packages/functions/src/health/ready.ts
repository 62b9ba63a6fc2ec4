import * as Health from "@shop/core/health";
import { migrationNames } from "@shop/migrations/migrations/names";
import { api, json } from "../lib/api.ts";

/** Readiness: the database answers within DB_POOL_TIMEOUT and every migration is applied; 503 otherwise. */
export const handler = api({ auth: "none", responses: { 200: Health.Readiness, 503: Health.Readiness } }, async () => {
  const report = await Health.ready(migrationNames);
  return json(report.status === "ok" ? 200 : 503, report);
});
