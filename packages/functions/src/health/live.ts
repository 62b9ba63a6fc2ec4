import * as z from "zod";
import { api, json } from "../lib/api.ts";

/** GET /health/live (public): liveness; the process answers. Touches no database. */
export const handler = api({ auth: "none", responses: { 200: z.object({ status: z.literal("ok") }) } }, async () => json(200, { status: "ok" }));
