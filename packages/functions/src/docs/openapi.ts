import * as z from "zod";
import document from "../../openapi.json" with { type: "json" };
import { api, json } from "../lib/api.ts";

/** GET /openapi.json (public): this API's OpenAPI 3.1 document, as `npm run openapi` generated it. */
export const handler = api({ auth: "none", responses: { 200: z.looseObject({ openapi: z.literal("3.1.0") }) } }, async () =>
  json(200, document),
);
