import * as Admin from "@shop/core/admin";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";

/** GET /api/admin/merchants: merchants, newest first, by status and Stripe onboarding. */
export const handler = api({ auth: "admin", query: Admin.MerchantQuery, responses: { 200: PageOf(Admin.Merchant) } }, async ({ query }) => json(200, await Admin.merchants(query)));
