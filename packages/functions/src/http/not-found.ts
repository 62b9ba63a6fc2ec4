import { VisibleError } from "@shop/core/error";
import { api } from "../lib/api.ts";

/** API Gateway's `$default` route: the contract's 404 for any unknown method or path. */
export const handler = api({ auth: "none", responses: {}, errors: [404] }, async () => {
  throw new VisibleError("not_found", "not_found", "no such route");
});
