import { Ajv2020 } from "ajv/dist/2020.js";
import document from "../../packages/functions/openapi.json" with { type: "json" };
import { matchRoute } from "@shop/functions/routes";

/**
 * Checks a response against the committed OpenAPI document (what clients read):
 * its status must be one the route documents, its headers the documented ones,
 * its body the documented schema, exactly (no field more or less). The handler
 * tests' `call()` and the end-to-end client check every response they get.
 */

interface Documented {
  $ref?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, unknown>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(document, "openapi.json");

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/** The documented response of `method path` (a concrete path) for `status`, and where it is in the document. */
function documented(method: string, path: string, status: number): { response: Documented; at: string } {
  const match = matchRoute(method, path);
  // Unknown routes all get the fallback's 404.
  if (!match) return { response: document.components.responses.NotFound, at: pointer("components", "responses", "NotFound") };
  const paths = document.paths as Record<string, Record<string, { responses: Record<string, Documented> }>>;
  // HEAD answers as the GET route does, without the body.
  const operation = paths[match.route.path]?.[match.route.method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${match.route.path} is not in openapi.json: run npm run openapi`);
  let response = operation.responses[status];
  if (!response) throw new Error(`${method} ${match.route.path} answered ${status}, which openapi.json does not document for it`);
  let at = pointer("paths", match.route.path, match.route.method.toLowerCase(), "responses", String(status));
  if (response.$ref) {
    at = response.$ref.slice(2);
    response = (document.components.responses as Record<string, Documented>)[at.split("/").at(-1)!]!;
  }
  return { response, at };
}

/** Throws, saying what differs, when the response is not what openapi.json documents. */
export function checkResponse(method: string, url: string, res: { status: number; headers: Record<string, unknown>; body: string }) {
  const path = new URL(url, "http://x").pathname;
  const { response, at } = documented(method, path, res.status);
  const where = `${method} ${path} → ${res.status}`;
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    if (header.required && res.headers[name] === undefined) throw new Error(`${where}: no ${name} header`);
  }
  const [type] = Object.keys(response.content ?? {});
  if (method === "HEAD") return;
  if (!type) {
    if (res.body !== "") throw new Error(`${where}: a body where openapi.json documents none`);
    return;
  }
  if (!String(res.headers["content-type"] ?? "").startsWith(type)) throw new Error(`${where}: content-type is not ${type}`);
  if (type !== "application/json") return;
  const validate = ajv.getSchema(`openapi.json#/${at}/${pointer("content", type, "schema")}`)!;
  if (!validate(JSON.parse(res.body))) {
    throw new Error(`${where}: the body does not match openapi.json: ${ajv.errorsText(validate.errors)}\n${res.body.slice(0, 2000)}`);
  }
}

/** The typed client's check of every answer: `client.use(checked)`. */
export const checked = {
  async onResponse({ request, response }: { request: Request; response: Response }) {
    const body = await response.clone().text();
    checkResponse(request.method, request.url, { status: response.status, headers: Object.fromEntries(response.headers), body });
  },
};
