import * as Health from "@shop/core/health";
import { migrations } from "@shop/migrations/migrations/index";
import { api, json } from "../lib/api.ts";

const expected = migrations.map((m) => m.name);

/** Readiness: the database answers within DB_POOL_TIMEOUT and every migration is applied; 503 otherwise. */
export const handler = api({ auth: "none" }, async () => {
  const report = await Health.ready(expected);
  return json(report.status === "ok" ? 200 : 503, report);
});
