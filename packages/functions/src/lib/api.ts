import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context as LambdaContext } from "aws-lambda";
import * as z from "zod";
import { Context } from "@shop/core/context";
import { Database, type ScopeStats } from "@shop/core/db";
import { DatabaseUnavailableError, VisibleError, type ErrorDetail, type ErrorKind } from "@shop/core/error";
import { Log } from "@shop/core/log";
import * as Session from "@shop/core/session";

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
  unavailable: 503,
};

/** Seconds a client should wait before retrying any 503 (every 503 here is the database's). */
const RETRY_AFTER_SECONDS = "2";

function invalid(message: string, details?: ErrorDetail[]): VisibleError {
  return new VisibleError("invalid", "invalid_request", message, details ? { details } : undefined);
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: "path" | "query" | "body" | "headers"): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  throw invalid(`the request ${where} is invalid`, details);
}

/** The raw body, refused with 413 when over the limit (checked before anything else). */
function rawBody(event: APIGatewayProxyEventV2): Buffer | undefined {
  if (event.body === undefined || event.body === null || event.body === "") return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body, "utf8");
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new VisibleError("too_large", "payload_too_large", `the request body is over ${MAX_BODY_BYTES} bytes`);
  }
  return raw;
}

function parseJson(raw: Buffer | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw invalid("the request body is not valid JSON");
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

function toResult(reply: Reply, requestId: string): APIGatewayProxyStructuredResultV2 & { statusCode: number } {
  const headers: Record<string, string> = {
    "x-request-id": requestId,
    "cache-control": "no-store",
    ...(reply.status === 503 ? { "retry-after": RETRY_AFTER_SECONDS } : {}),
    ...reply.headers,
  };
  if (reply.text !== undefined) return { statusCode: reply.status, headers, body: reply.text };
  if (reply.status === 204 || reply.body === undefined) return { statusCode: reply.status, headers };
  headers["content-type"] = "application/json; charset=utf-8";
  return { statusCode: reply.status, headers, body: JSON.stringify(reply.body) };
}

function redactTokens(event: APIGatewayProxyEventV2): string {
  const token = event.pathParameters?.["token"];
  return token ? event.rawPath.replace(encodeURIComponent(token), "[token]").replace(token, "[token]") : event.rawPath;
}

/** Builds a Lambda handler for API Gateway HTTP API (payload v2) from a spec and a function. */
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
              body: parse(spec.body, parseJson(body), "body"),
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
    let result: ReturnType<typeof toResult>;
    try {
      result = toResult(outcome.reply, requestId);
    } catch (err) {
      // A body that cannot be serialized (a cycle, or nesting deep enough to exhaust the stack) is still logged.
      Object.assign(outcome, errorReply(err));
      result = toResult(outcome.reply, requestId);
    }
    const fields = {
      method: event.requestContext?.http?.method,
      route: event.routeKey,
      // Public routes carry secrets in the path (share and quote tokens): never log them.
      path: redactTokens(event),
      status: result.statusCode,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      queries: (stats as ScopeStats | null)?.queries ?? 0,
      query_ms: Math.round(((stats as ScopeStats | null)?.queryMs ?? 0) * 100) / 100,
      user_id: ctx.userId,
    };
    Context.run(ctx, () => {
      if (outcome.error === undefined) Log.info("request", fields);
      else if (result.statusCode >= 500) Log.error("request", { ...fields, err: outcome.error });
      else Log.warn("request", { ...fields, err: outcome.error });
    });
    return result;
  };
  // The spec rides along for `npm run openapi`, which reads every handler's.
  return Object.assign(handler, { spec });
}
