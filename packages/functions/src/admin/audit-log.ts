import * as Admin from "@shop/core/admin";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";

/** GET /api/admin/audit-log: the audit trail, newest first, by action, outcome and time. */
export const handler = api({ auth: "admin", query: Admin.AuditQuery, responses: { 200: PageOf(Admin.AuditEntry) } }, async ({ query }) => json(200, await Admin.auditLog(query)));
