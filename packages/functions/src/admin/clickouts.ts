import * as Admin from "@shop/core/admin";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";

/** GET /api/admin/clickouts: every user's clickouts, newest first, by suspicion, handler and time. */
export const handler = api({ auth: "admin", query: Admin.ClickoutQuery, responses: { 200: PageOf(Admin.Clickout) } }, async ({ query }) => json(200, await Admin.clickouts(query)));
