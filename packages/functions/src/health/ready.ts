import * as Health from "@shop/core/health";
import { migrationNames } from "@shop/migrations/migrations/names";
import { api, json } from "../lib/api.ts";

/** GET /health/ready (public): readiness; the database answers within DB_POOL_TIMEOUT and every migration is applied, else a 503 with the same report (its reason logged). */
export const handler = api({ auth: "none", responses: { 200: Health.Readiness, 503: Health.Readiness } }, async () => {
  const { reason, ...report } = await Health.ready(migrationNames);
  return reason === undefined ? json(200, report) : { ...json(503, report), reason };
});
