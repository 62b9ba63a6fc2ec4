import * as Signal from "@shop/core/signal";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";

/** GET /api/signals: the caller's signals, newest first, keyset-paginated. */
export const handler = api({ auth: "user", query: Signal.ListQuery, responses: { 200: PageOf(Signal.Info) } }, async ({ actor, query }) =>
  json(200, await Signal.list(actor.userId, query)),
);
