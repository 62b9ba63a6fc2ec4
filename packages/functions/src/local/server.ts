import { randomUUID } from "node:crypto";
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { Log } from "@shop/core/log";
import { fallback, matchRoute, routeKey, type Route } from "../routes.ts";
import { fromResult, requestUrl, toEvent } from "./event.ts";

/**
 * The local stand-in for API Gateway: every HTTP request becomes the payload
 * v2 event a deployed stage would send, and goes to the handler the route
 * table names (unknown routes to the `$default` handler), exactly as deployed.
 */

type Handler = (event: APIGatewayProxyEventV2, context: object) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway refuses payloads over 10 MB before any Lambda runs; so do we. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

const handlers = new Map<string, Promise<Handler>>();

function loadHandler(file: string): Promise<Handler> {
  let loaded = handlers.get(file);
  if (!loaded) {
    loaded = import(new URL(`../${file}.ts`, import.meta.url).href).then((m: { handler: Handler }) => m.handler);
    handlers.set(file, loaded);
  }
  return loaded;
}

/** How long a client may take to send its headers, and then its body: a half-sent request is a 408, not an open socket. */
const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/** What the parser refuses before any handler runs, answered in the contract's shape (API Gateway's own answers, in ours). */
const CLIENT_ERRORS: Record<string, [status: number, code: string, message: string]> = {
  // Any method API Gateway sends to `$default`, which answers 404 for it.
  HPE_INVALID_METHOD: [404, "not_found", "no such route"],
  HPE_HEADER_OVERFLOW: [431, "headers_too_large", "the request headers are too large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "request_timeout", "the request was not sent in time"],
};

type Body = Buffer | "too_large" | "timeout" | "aborted";

function readBody(req: IncomingMessage, timeoutMs: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => resolve("timeout"), timeoutMs);
    const settle = (body: Body) => {
      clearTimeout(timer);
      resolve(body);
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => settle(size > GATEWAY_MAX_BODY ? "too_large" : Buffer.concat(chunks)));
    // The client went away before its body was complete.
    req.on("error", () => settle("aborted"));
    req.on("close", () => settle("aborted"));
  });
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function sendJson(res: ServerResponse, status: number, body: string, requestId: string) {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
  });
  res.end(body);
}

/** A request the parser refused never became a request object: answer on the socket, in the contract's shape. */
function refuseOnSocket(err: NodeJS.ErrnoException, socket: Socket): void {
  const requestId = randomUUID();
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ""] ?? [400, "invalid_request", "the request is not valid HTTP"];
  if (!socket.writable || err.code === "ECONNRESET") {
    Log.info("client aborted the request", { request_id: requestId, reason: err.code });
    socket.destroy();
    return;
  }
  const body = errorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  Log.warn("request", { request_id: requestId, status, reason: err.code });
}

/** Lambda's context, as much of it as handlers use. */
function lambdaContext(route: Route | null, requestId: string) {
  const deadline = Date.now() + (route?.timeout ?? 20) * 1000;
  return {
    awsRequestId: requestId,
    functionName: `local-${route?.file ?? fallback.file}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, bodyTimeoutMs: number): Promise<void> {
  const requestId = randomUUID();
  const method = (req.method ?? "GET").toUpperCase();
  const url = req.url ?? "/";
  const match = matchRoute(method, requestUrl(url).pathname);
  const body = await readBody(req, bodyTimeoutMs);
  if (body === "aborted") {
    // Not a server fault: the route key only (the path may hold a token).
    Log.info("client aborted the request", { request_id: requestId, method, route: match ? routeKey(match.route) : "$default" });
    return;
  }
  if (body === "too_large" || body === "timeout") {
    const [status, code, message] =
      body === "timeout" ? CLIENT_ERRORS["ERR_HTTP_REQUEST_TIMEOUT"]! : [413, "payload_too_large", "the request body is too large"];
    res.setHeader("connection", "close");
    sendJson(res, status, errorBody(code, message), requestId);
    Log.warn("request", { request_id: requestId, method, route: match ? routeKey(match.route) : "$default", status });
    return;
  }
  const event = toEvent(
    { method, url, headers: req.headers, body, sourceIp: req.socket.remoteAddress ?? "127.0.0.1", requestId },
    match,
  );
  const handler = await loadHandler(match ? match.route.file : fallback.file);
  const result = fromResult(await handler(event, lambdaContext(match?.route ?? null, requestId)));
  res.writeHead(result.status, result.headers);
  res.end(result.body);
}

export interface LocalServer {
  url: string;
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
}

/** Serves every route of the table on 127.0.0.1:`port` (0 picks a free one). */
export async function startServer(options: { port: number; bodyTimeoutMs?: number }): Promise<LocalServer> {
  const inFlight = new Set<Promise<void>>();
  const timeout = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  // Headers within the timeout (checked every second, not Node's 30 s); the body gets its own timer in readBody.
  const server = createServer({ headersTimeout: timeout, requestTimeout: 0, connectionsCheckingInterval: 1000 }, (req, res) => {
    const done = handle(req, res, timeout)
      .catch((err: unknown) => {
        // Handlers answer every error themselves; reaching here is a bug in this server.
        Log.error("local server failed a request", { err });
        if (!res.headersSent) sendJson(res, 500, errorBody("internal", "internal error"), "local");
        else res.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  server.on("clientError", refuseOnSocket);
  const host = "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
}
