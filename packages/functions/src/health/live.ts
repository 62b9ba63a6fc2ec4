import { api, json } from "../lib/api.ts";

/** Liveness: the process answers. Touches no database. */
export const handler = api({ auth: "none" }, async () => json(200, { status: "ok" }));
