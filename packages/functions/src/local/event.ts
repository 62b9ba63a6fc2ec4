import { isUtf8 } from "node:buffer";
import type { IncomingHttpHeaders } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { routeKey, type Route } from "../routes.ts";

/**
 * Turns an HTTP request into the API Gateway HTTP API (payload v2) event a
 * deployed stage would send, so handlers run locally exactly as in Lambda.
 */

export interface LocalRequest {
  method: string;
  /** Path and query string, as on the request line. */
  url: string;
  headers: IncomingHttpHeaders | Record<string, string | undefined>;
  body?: Buffer;
  sourceIp?: string;
  requestId: string;
}

const TEXT_TYPES = /^(application\/(json|[\w.+-]*\+json|x-www-form-urlencoded|xml)|text\/)/i;

/** The request line's target as a URL; `//x/y` stays a path (the base-URL form would read `x` as a host). */
export function requestUrl(target: string): URL {
  return new URL(target.startsWith("/") ? `http://local${target}` : target, "http://local");
}

export function toEvent(
  req: LocalRequest,
  match: { route: Route; pathParameters: Record<string, string> } | null,
): APIGatewayProxyEventV2 {
  const url = requestUrl(req.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === "cookie") {
      cookies.push(...String(value).split(/;\s*/).filter(Boolean));
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(",") : value;
  }
  // API Gateway adds these for every request; handlers build absolute links from them.
  headers["x-forwarded-proto"] ??= "http";
  headers["x-forwarded-for"] ??= req.sourceIp ?? "127.0.0.1";
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = new Date();
  // Bytes that are not UTF-8 go base64-encoded, as binary: decoding them would grow the body (U+FFFD per bad byte).
  const isText = !req.body || (TEXT_TYPES.test(headers["content-type"] ?? "application/json") && isUtf8(req.body));
  const method = req.method.toUpperCase();
  return {
    version: "2.0",
    routeKey: match ? routeKey(match.route) : "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(match && Object.keys(match.pathParameters).length ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: headers["host"] ?? "localhost",
      domainPrefix: (headers["host"] ?? "localhost").split(".")[0]!,
      http: {
        method,
        path: url.pathname,
        protocol: "HTTP/1.1",
        sourceIp: req.sourceIp ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: req.requestId,
      routeKey: match ? routeKey(match.route) : "$default",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(req.body && req.body.length
      ? { body: isText ? req.body.toString("utf8") : req.body.toString("base64"), isBase64Encoded: !isText }
      : { isBase64Encoded: false }),
  };
}

/** The parts of an HTTP response a handler's result becomes. */
export function fromResult(result: APIGatewayProxyStructuredResultV2): {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
} {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies?.length) headers["set-cookie"] = result.cookies;
  const body = result.body
    ? Buffer.from(result.body, result.isBase64Encoded ? "base64" : "utf8")
    : Buffer.alloc(0);
  return { status: result.statusCode ?? 200, headers, body };
}
