import * as Health from "@shop/core/health";
import { migrationNames } from "@shop/migrations/migrations/names";
import { api, json } from "../lib/api.ts";

/** Readiness: the database answers within DB_POOL_TIMEOUT and every migration is applied; 503 otherwise. */
export const handler = api({ auth: "none" }, async () => {
  const { reason, ...report } = await Health.ready(migrationNames);
  return reason === undefined ? json(200, report) : { ...json(503, report), reason };
});
