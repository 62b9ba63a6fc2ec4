import * as Comment from "@shop/core/comment";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** POST /api/rows/{row_id}/comments: a comment on the caller's row, optionally about one of its bids. */
export const handler = api({ auth: "user", path: RowPath, body: Comment.CreateInput, responses: { 201: Comment.Info }, errors: [404] }, async ({ actor, path, body }) =>
  json(201, await Comment.create(actor.userId, path.row_id, body)),
);
