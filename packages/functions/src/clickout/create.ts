import * as Clickout from "@shop/core/clickout";
import { api, json } from "../lib/api.ts";

/** POST /api/clickouts: records the clickout and answers where to send the user; from the user's 11th clickout within 60 seconds on, `is_suspicious` is true (recorded all the same). */
export const handler = api({ auth: "user", body: Clickout.CreateInput, responses: { 201: Clickout.Info }, errors: [404] }, async ({ actor, body }) =>
  json(201, await Clickout.create(actor.userId, body)),
);
