import * as Session from "@shop/core/session";
import { api, noContent } from "../lib/api.ts";

/** POST /api/auth/logout: revokes the calling session; its token fails from now on. */
export const handler = api({ auth: "user", responses: { 204: null } }, async ({ actor }) => {
  await Session.logout(actor);
  return noContent();
});
