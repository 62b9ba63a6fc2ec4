import * as Signal from "@shop/core/signal";
import { api, json } from "../lib/api.ts";

/** POST /api/signals: records a signal about the caller. */
export const handler = api({ auth: "user", body: Signal.CreateInput, responses: { 201: Signal.Info } }, async ({ actor, body }) =>
  json(201, await Signal.create(actor.userId, body)),
);
