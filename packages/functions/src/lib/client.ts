import createFetchClient, { type Client } from "openapi-fetch";
import type { paths } from "./openapi-types.ts";

/**
 * A typed client of this API (openapi-fetch over the types `npm run openapi`
 * generates from openapi.json): paths, parameters, bodies and answers are
 * checked at compile time. The end-to-end tests talk to the server through it.
 */
export function createClient(baseUrl: string, token?: string): Client<paths> {
  return createFetchClient<paths>({ baseUrl, headers: token ? { authorization: `Bearer ${token}` } : {} });
}
