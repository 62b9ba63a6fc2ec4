import * as Row from "@shop/core/row";
import { api, json } from "../lib/api.ts";

/** POST /api/rows: a new shopping request. */
export const handler = api({ auth: "user", body: Row.CreateInput, responses: { 201: Row.Info } }, async ({ actor, body }) =>
  json(201, await Row.create(actor.userId, body)),
);
