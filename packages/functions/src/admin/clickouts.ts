import * as Admin from "@shop/core/admin";
import { api, json } from "../lib/api.ts";

/** GET /api/admin/clickouts: every user's clickouts, newest first, by suspicion, handler and time. */
export const handler = api({ auth: "admin", query: Admin.ClickoutQuery }, async ({ query }) => json(200, await Admin.clickouts(query)));
