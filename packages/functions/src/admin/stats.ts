import * as Admin from "@shop/core/admin";
import { api, json } from "../lib/api.ts";

/** GET /api/admin/stats: the dashboard's counts, in one statement. */
export const handler = api({ auth: "admin", responses: { 200: Admin.Stats } }, async () => json(200, await Admin.stats()));
