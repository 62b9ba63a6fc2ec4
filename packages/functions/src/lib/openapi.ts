import { readFileSync } from "node:fs";
import * as z from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from "zod-openapi";
import * as Admin from "@shop/core/admin";
import * as Bid from "@shop/core/bid";
import * as Clickout from "@shop/core/clickout";
import * as Comment from "@shop/core/comment";
import { ErrorBody } from "@shop/core/error";
import { PathId, QueryBool } from "@shop/core/ids";
import * as Health from "@shop/core/health";
import * as Outreach from "@shop/core/outreach";
import { PageQuery } from "@shop/core/pagination";
import * as Purchase from "@shop/core/purchase";
import * as Quote from "@shop/core/quote";
import * as Row from "@shop/core/row";
import * as Seller from "@shop/core/seller";
import * as Share from "@shop/core/share";
import * as Signal from "@shop/core/signal";
import * as User from "@shop/core/user";
import openapiTS, { astToString, type OpenAPI3 } from "openapi-typescript";
import { routes, type Route } from "../routes.ts";
import type { Auth, Spec } from "./api.ts";

/**
 * The OpenAPI 3.1 document of the route table, built from each handler's own
 * spec (the zod schemas it validates requests with and the response schemas
 * core's mappers follow) and its doc comment. `npm run openapi` writes it to
 * packages/functions/openapi.json; nothing deployed runs this code.
 */

type AnySpec = Spec<Auth, unknown, unknown, unknown, unknown>;

/** Named schemas: each becomes a component, referenced wherever a route uses it. */
const SCHEMAS = {
  Error: ErrorBody,
  Row: Row.Info,
  RowSummary: Row.Summary,
  RowDetail: Row.Detail,
  Bid: Bid.Info,
  Seller: Seller.Info,
  Comment: Comment.Info,
  Clickout: Clickout.Info,
  Purchase: Purchase.Info,
  ShareLink: Share.Created,
  SharedRow: Share.View,
  QuoteRequest: Quote.View,
  Outreach: Outreach.Info,
  Signal: Signal.Info,
  User: User.Info,
  Readiness: Health.Readiness,
  AdminStats: Admin.Stats,
  AdminClickout: Admin.Clickout,
  AuditEntry: Admin.AuditEntry,
  Merchant: Admin.Merchant,
};

const REQUEST_ID = z.object({ "x-request-id": z.string().meta({ description: "Quote it when reporting a problem." }) });

/** Each error status, once: a component every route that can answer it refers to. */
const ERRORS: Record<number, { id: string; description: string; headers?: z.ZodObject }> = {
  400: { id: "InvalidRequest", description: "`invalid_request`: the path, query, headers or body fail validation; `details` names each problem." },
  401: {
    id: "Unauthorized",
    description: "`unauthorized`: no bearer token, or a malformed, unknown, revoked or expired one.",
    headers: REQUEST_ID.extend({ "www-authenticate": z.literal("Bearer") }),
  },
  403: { id: "Forbidden", description: "`forbidden`: the caller is not an admin." },
  404: { id: "NotFound", description: "`not_found`: no such resource, or not the caller's." },
  409: { id: "Conflict", description: "`conflict`: a unique clash, or a state that forbids the change." },
  410: { id: "Gone", description: "`gone`: the link has expired." },
  413: { id: "PayloadTooLarge", description: "`payload_too_large`: the body is over 1 MiB." },
  415: { id: "UnsupportedMediaType", description: "`unsupported_media_type`: the body is not `application/json`." },
  500: { id: "Internal", description: "`internal`: a fault of the server, logged with the request id." },
  503: {
    id: "DatabaseUnavailable",
    description: "`database_unavailable`: the database cannot serve now; retry after `retry-after` seconds.",
    headers: REQUEST_ID.extend({ "retry-after": z.string().regex(/^\d+$/) }),
  },
};

/** Schemas whose zod form (text turned into a number, a boolean or a price) says less than the contract. */
const OVERRIDES = new Map<unknown, Record<string, unknown>>([
  [PathId, { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER }],
  [
    Quote.SubmitInput.shape.price,
    {
      anyOf: [{ type: "string", pattern: "^\\d{1,10}(\\.\\d{1,2})?$" }, { type: "number", minimum: 0 }],
      description: 'Up to 10 digits and 2 decimals, e.g. "129.00"; a JSON number becomes that string.',
    },
  ],
  [QueryBool, { type: "boolean" }],
  [PageQuery.shape.limit, { type: "integer", minimum: 1, maximum: 100, default: 20, description: "Page size." }],
  [PageQuery.shape.cursor, { type: "string", maxLength: 200, description: "`next_cursor` of the previous page." }],
]);

/** The error statuses a route can answer: what its spec implies, and those it declares. */
function errorStatuses(route: Route, spec: AnySpec): number[] {
  const statuses = new Set<number>([500, ...(spec.errors ?? [])]);
  if (spec.path || spec.query || spec.body || spec.headers) statuses.add(400);
  if (spec.body) [413, 415].forEach((s) => statuses.add(s));
  if (spec.auth !== "none") statuses.add(401);
  if (spec.auth === "admin") statuses.add(403);
  // Every route but these touches the database; a 503 of /health/ready is its own report.
  if (!NO_DATABASE.has(route.file) && !(503 in spec.responses)) statuses.add(503);
  return [...statuses].sort();
}

/** Routes that never open a database connection. */
const NO_DATABASE = new Set(["health/live", "docs/openapi", "docs/page"]);

/** The handler's doc comment, less the "METHOD /path:" it starts with: its first clause is the summary. */
function describe(route: Route): { summary: string; description?: string } {
  const source = readFileSync(new URL(`../${route.file}.ts`, import.meta.url), "utf8");
  const comment = /\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*export const handler/.exec(source)?.[1] ?? "";
  const text = comment.trim().replace(/\s*\n\s*\*\s*/g, " ").replace(/^[A-Z]+ \S+( \(public\))?: /, "");
  const description = text.charAt(0).toUpperCase() + text.slice(1);
  const summary = description.split(/[;.] /)[0]!.replace(/\.$/, "");
  return summary === description.replace(/\.$/, "") ? { summary } : { summary, description };
}

function body(schema: z.ZodType | string | null, headers: z.ZodObject = REQUEST_ID, description = "OK"): ZodOpenApiResponseObject {
  if (schema === null) return { description, headers };
  if (typeof schema === "string") return { description, headers, content: { [schema]: { schema: z.string() } } };
  return { description, headers, content: { "application/json": { schema } } };
}

const errorResponses = new Map<number, ZodOpenApiResponseObject>();

/** One object per status: zod-openapi makes a component of it, and a route refers to it. */
function errorResponse(status: number): ZodOpenApiResponseObject {
  let response = errorResponses.get(status);
  if (!response) {
    const { id, headers, description } = ERRORS[status]!;
    response = { ...body(ErrorBody, headers, description), id };
    errorResponses.set(status, response);
  }
  return response;
}

function operation(route: Route, spec: AnySpec): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  // Every 503 carries retry-after, /health/ready's report too.
  for (const [status, schema] of Object.entries(spec.responses)) {
    responses[status] = body(schema ?? null, ERRORS[Number(status)]?.headers, Number(status) < 300 ? "OK" : "Not ready: the report says which part failed.");
  }
  for (const status of errorStatuses(route, spec)) {
    responses[status] = errorResponse(status);
  }
  return {
    operationId: route.file.replace(/\W+(\w)/g, (_, c: string) => c.toUpperCase()),
    ...describe(route),
    tags: [route.file.split("/")[0]!],
    ...(spec.auth === "none" ? { security: [] } : {}),
    requestParams: {
      ...(spec.path ? { path: spec.path as z.ZodObject } : {}),
      ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
      ...(spec.headers ? { header: spec.headers as z.ZodObject } : {}),
    },
    ...(spec.body ? { requestBody: { required: true, content: { "application/json": { schema: spec.body } } } } : {}),
    responses,
  };
}

/** The document, from the route table and every handler's spec. */
async function document() {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const { handler } = (await import(new URL(`../${route.file}.ts`, import.meta.url).href)) as { handler: { spec: AnySpec } };
    (paths[route.path] ??= {})[route.method.toLowerCase() as "get"] = operation(route, handler.spec);
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Shopping Agent API",
      version: "1.0.0",
      description:
        "Users post shopping requests (rows); sellers answer with bids. Conventions (auth, errors, pagination, idempotency) are in docs/api.md.",
      license: { name: "UNLICENSED", identifier: "UNLICENSED" },
    },
    // Relative: the server that serves this document (npm start, or a deployed stage).
    servers: [{ url: "/", description: "the server that serves this document" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "`sa_` + 43 base64url characters" } },
      schemas: SCHEMAS,
    },
    paths,
  }, {
    override: ({ jsonSchema, zodSchema }) => {
      const override = OVERRIDES.get(zodSchema);
      if (override) {
        for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
        Object.assign(jsonSchema, override);
        return;
      }
      // Responses are exact: a field core adds without its schema fails the tests' check. Said of
      // inputs too, so a schema renders the same both ways and stays one component.
      const def = zodSchema._zod.def;
      if (def.type === "object" && !("catchall" in def && def.catchall)) jsonSchema.additionalProperties = false;
    },
  });
}

/** The document as committed (packages/functions/openapi.json) and the client's types generated from it. */
export async function generate(): Promise<{ json: string; types: string }> {
  const json = `${JSON.stringify(await document(), null, 2)}\n`;
  const types = astToString(await openapiTS(JSON.parse(json) as OpenAPI3));
  return { json, types: `// Generated by \`npm run openapi\` from openapi.json (openapi-typescript): do not edit.\n\n${types}` };
}
