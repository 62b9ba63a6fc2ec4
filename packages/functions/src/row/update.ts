import * as Row from "@shop/core/row";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** PATCH /api/rows/{row_id}: changes the caller's row (at least one field); updated_at moves. */
export const handler = api({ auth: "user", path: RowPath, body: Row.UpdateInput, responses: { 200: Row.Info }, errors: [404] }, async ({ actor, path, body }) =>
  json(200, await Row.update(actor.userId, path.row_id, body)),
);
