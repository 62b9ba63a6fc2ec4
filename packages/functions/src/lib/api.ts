import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context as LambdaContext } from "aws-lambda";
import * as z from "zod";
import { Context } from "@shop/core/context";
import { Database, type ScopeStats } from "@shop/core/db";
import { DatabaseUnavailableError, VisibleError, type ErrorDetail, type ErrorKind } from "@shop/core/error";
import { Log } from "@shop/core/log";
import * as Session from "@shop/core/session";
import { routes } from "../routes.ts";

/**
 * The one wrapper every handler goes through. It does what each handler would
 * otherwise repeat: request id, body size and JSON parsing, zod validation of
 * path, query and body, bearer-token auth, the per-request database scope,
 * mapping core's errors to the contract's statuses, and one structured log
 * line per request. No stack, SQL or driver text ever reaches a response body.
 */

/** 1 MiB: larger bodies are refused with 413 before they are parsed. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Who may call a route. "user" and "admin" resolve the caller before the
 * handler runs (one round trip); "credential" hands the handler the bearer
 * token's credential for core to check inside its own statement (hot reads:
 * one round trip in all).
 */
export type Auth = "none" | "user" | "admin" | "credential";

export interface Spec<A extends Auth, P, Q, B, H> {
  auth: A;
  path?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Validates request headers (lower-cased names) into `req.headers`. */
  headers?: z.ZodType<H>;
  /**
   * Each success status's body: a schema for JSON, a media type for text, null for none (204).
   * For the contract (`npm run openapi`) and the tests, which check every response against it.
   */
  responses: Partial<Record<number, z.ZodType | string | null>>;
  /** Error statuses beyond those the spec implies (400, 401, 403, 413, 503): 404, 409, 410. */
  errors?: Array<404 | 409 | 410>;
}

export interface Request<A extends Auth, P, Q, B, H> {
  actor: A extends "user" | "admin" ? Session.Actor : null;
  credential: A extends "credential" ? Session.Credential : null;
  path: P;
  query: Q;
  body: B;
  /** The validated headers when the spec has a schema for them; otherwise all of them, names lower-cased. */
  headers: H;
  requestId: string;
  /** The scheme and host the client used (`https://…` when deployed), for links the API hands out. */
  origin: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Why a 5xx was answered without a throw; logged, never sent. */
  reason?: string;
  /** Sent as is, not as JSON (the docs page and its assets). */
  text?: string;
}

export const json = (status: number, body: unknown): Reply => ({ status, body });
export const noContent = (): Reply => ({ status: 204 });

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unsupported_media: 415,
  unavailable: 503,
};

/** Seconds a client should wait before retrying any 503 (every 503 here is the database's). */
const RETRY_AFTER_SECONDS = "2";

function invalid(message: string, details?: ErrorDetail[]): VisibleError {
  return new VisibleError("invalid", "invalid_request", message, details ? { details } : undefined);
}

/** At most this many details for one request: a body can hold a hundred thousand bad strings. */
const MAX_DETAILS = 20;

/** Why Postgres or a JSON reader would choke on a string: a NUL (22021) or a lone surrogate (not Unicode). */
function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain a NUL character (U+0000)";
  if (!text.isWellFormed()) return "must be valid Unicode text (it holds a lone surrogate)";
  return null;
}

/**
 * Every string in a request part, keys included, checked once before its schema runs,
 * so no field anywhere can carry text the database cannot store. Iterative: bodies nest deep.
 */
function checkText(value: unknown, where: string): void {
  const details: ErrorDetail[] = [];
  const pending: Array<[unknown, string]> = [[value, where]];
  while (pending.length > 0 && details.length < MAX_DETAILS) {
    const [v, path] = pending.pop()!;
    if (typeof v === "string") {
      const problem = textProblem(v);
      if (problem) details.push({ path, message: problem });
    } else if (v !== null && typeof v === "object") {
      for (const [key, child] of Object.entries(v)) {
        const problem = textProblem(key);
        if (problem) details.push({ path, message: `has a key that ${problem}` });
        else pending.push([child, `${path}.${key}`]);
      }
    }
  }
  if (details.length > 0) throw invalid(`the request ${where} holds text that is not allowed`, details);
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: "path" | "query" | "body" | "headers"): T {
  if (!schema) return undefined as T;
  checkText(value, where);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  throw invalid(`the request ${where} is invalid`, details);
}

/**
 * The raw body, refused with 413 when over the limit (checked before anything else, on the
 * bytes the client sent: a body that is not UTF-8 arrives base64-encoded and is never re-encoded).
 */
function rawBody(event: APIGatewayProxyEventV2): Buffer | undefined {
  if (event.body === undefined || event.body === null || event.body === "") return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body, "utf8");
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new VisibleError("too_large", "payload_too_large", `the request body is over ${MAX_BODY_BYTES} bytes`, {
      details: [{ path: "body", message: `must be at most ${MAX_BODY_BYTES} bytes (got ${raw.byteLength})` }],
    });
  }
  return raw;
}

/** JSON (`application/json`, `application/*+json`), or no content type at all, as curl and fetch send by default. */
const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJson(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (raw === undefined) return undefined;
  if (contentType !== undefined && !JSON_TYPE.test(contentType)) {
    throw new VisibleError("unsupported_media", "unsupported_media_type", "the request body must be JSON (content-type: application/json)", {
      details: [{ path: "headers.content-type", message: "must be application/json" }],
    });
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw invalid("the request body is not valid UTF-8", [{ path: "body", message: "must be UTF-8 text" }]);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw invalid("the request body is not valid JSON", [{ path: "body", message: "must be one JSON value" }]);
  }
}

function bearer(headers: Record<string, string>): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers["authorization"] ?? "");
  return match ? match[1]! : null;
}

function lowerHeaders(event: APIGatewayProxyEventV2): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

interface Outcome {
  reply: Reply;
  /** What to log beside the request line: server faults. */
  error?: unknown;
}

function errorReply(err: unknown): Outcome {
  if (!(err instanceof VisibleError)) {
    return { reply: json(500, { error: { code: "internal", message: "internal error" } }), error: err };
  }
  const status = STATUS[err.kind];
  const body = {
    error: {
      code: err.code,
      message: err instanceof DatabaseUnavailableError ? "the database is unavailable; retry shortly" : err.message,
      ...(err.details ? { details: err.details } : {}),
    },
  };
  return {
    reply: { status, body, ...(status === 401 ? { headers: { "www-authenticate": "Bearer" } } : {}) },
    ...(status >= 500 ? { error: err } : {}),
  };
}

function toResult(reply: Reply, requestId: string, head: boolean): APIGatewayProxyStructuredResultV2 & { statusCode: number } {
  const headers: Record<string, string> = {
    "x-request-id": requestId,
    "cache-control": "no-store",
    ...(reply.status === 503 ? { "retry-after": RETRY_AFTER_SECONDS } : {}),
    ...reply.headers,
  };
  if (reply.text !== undefined) return { statusCode: reply.status, headers, body: reply.text };
  if (reply.status === 204 || reply.body === undefined) return { statusCode: reply.status, headers };
  headers["content-type"] = "application/json; charset=utf-8";
  const body = JSON.stringify(reply.body);
  // HEAD answers as GET would, headers only (serialized all the same: a body that cannot be is still a 500).
  return head ? { statusCode: reply.status, headers } : { statusCode: reply.status, headers, body };
}

/** Where a path segment is a secret (share and quote tokens): each `{token}` route's path up to it, from the route table. */
const SECRET_PREFIXES = routes.filter((r) => r.path.includes("{token}")).map((r) => r.path.slice(0, r.path.indexOf("{token}")).toLowerCase());

/**
 * The path as logged: anything shaped like a token route has its token cut, whatever the
 * method, letter case, repeated or trailing slashes, or percent-encoding (decoded leniently, so
 * a malformed escape elsewhere cannot keep the shape hidden), matched or not.
 */
function loggedPath(rawPath: string): string {
  const shape = rawPath
    .replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\/{2,}/g, "/")
    .toLowerCase();
  const prefix = SECRET_PREFIXES.find((p) => shape.startsWith(p) && shape.length > p.length);
  return prefix ? `${prefix}[token]` : rawPath;
}

/** Builds a Lambda handler for API Gateway HTTP API (payload v2) from a spec and a function; the handler carries its spec. */
export function api<A extends Auth, P = undefined, Q = undefined, B = undefined, H = Record<string, string>>(
  spec: Spec<A, P, Q, B, H>,
  fn: (req: Request<A, P, Q, B, H>) => Promise<Reply>,
) {
  const handler = async (event: APIGatewayProxyEventV2, _context?: Partial<LambdaContext>): Promise<APIGatewayProxyStructuredResultV2> => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId || randomUUID();
    const ctx = { requestId, userId: null as number | null };
    let stats: ScopeStats | null = null;
    const outcome = await Context.run(ctx, async (): Promise<Outcome> => {
      try {
        const headers = lowerHeaders(event);
        const body = spec.body ? rawBody(event) : undefined;
        const reply = await Database.use(async () => {
          try {
            const auth: Auth = spec.auth;
            const credential = auth === "credential" ? Session.credential(bearer(headers)) : null;
            const actor = auth === "user" || auth === "admin" ? await Session.authenticate(bearer(headers), auth) : null;
            const req = {
              actor,
              credential,
              path: parse(spec.path, event.pathParameters ?? {}, "path"),
              query: parse(spec.query, event.queryStringParameters ?? {}, "query"),
              body: parse(spec.body, parseJson(body, headers["content-type"]), "body"),
              headers: spec.headers ? parse(spec.headers, headers, "headers") : headers,
              requestId,
              // API Gateway sets x-forwarded-proto (always https there); the local server sends http.
              origin: `${headers["x-forwarded-proto"] === "http" ? "http" : "https"}://${event.requestContext?.domainName ?? headers["host"] ?? "localhost"}`,
            } as Request<A, P, Q, B, H>;
            return await fn(req);
          } finally {
            stats = Database.scopeStats();
          }
        });
        return { reply };
      } catch (err) {
        return errorReply(err);
      }
    });
    const head = event.requestContext?.http?.method === "HEAD";
    let result: ReturnType<typeof toResult>;
    try {
      result = toResult(outcome.reply, requestId, head);
    } catch (err) {
      // A body that cannot be serialized (a cycle, or nesting deep enough to exhaust the stack) is still logged.
      Object.assign(outcome, errorReply(err));
      result = toResult(outcome.reply, requestId, head);
    }
    const fields = {
      method: event.requestContext?.http?.method,
      route: event.routeKey,
      // Public routes carry secrets in the path (share and quote tokens): never log them.
      path: loggedPath(event.rawPath),
      status: result.statusCode,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      queries: (stats as ScopeStats | null)?.queries ?? 0,
      query_ms: Math.round(((stats as ScopeStats | null)?.queryMs ?? 0) * 100) / 100,
      user_id: ctx.userId,
    };
    Context.run(ctx, () => {
      if (outcome.error === undefined && outcome.reply.reason !== undefined) Log.error("request", { ...fields, reason: outcome.reply.reason });
      else if (outcome.error === undefined) Log.info("request", fields);
      else if (result.statusCode >= 500) Log.error("request", { ...fields, err: outcome.error });
      else Log.warn("request", { ...fields, err: outcome.error });
    });
    return result;
  };
  // The spec rides along: `npm run openapi` and the generated input and authorization suites read each route's.
  return Object.assign(handler, { spec });
}
