import * as User from "@shop/core/user";
import { api, json } from "../lib/api.ts";

/** GET /api/me: who the token belongs to. */
export const handler = api({ auth: "user", responses: { 200: User.Info } }, async ({ actor }) =>
  json(200, User.Info.parse({ id: actor.userId, email: actor.email, name: actor.name, is_admin: actor.isAdmin })),
);
