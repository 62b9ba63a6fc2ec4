import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { Log } from "@shop/core/log";
import { fallback, matchRoute, type Route } from "../routes.ts";
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

function readBody(req: IncomingMessage): Promise<Buffer | "too_large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > GATEWAY_MAX_BODY ? "too_large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-request-id": requestId });
  res.end(JSON.stringify(body));
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

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const body = await readBody(req);
  if (body === "too_large") {
    sendJson(res, 413, { error: { code: "payload_too_large", message: "the request body is too large" } }, requestId);
    return;
  }
  const method = (req.method ?? "GET").toUpperCase();
  const url = req.url ?? "/";
  const match = matchRoute(method, requestUrl(url).pathname);
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
export async function startServer(options: { port: number }): Promise<LocalServer> {
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const done = handle(req, res)
      .catch((err: unknown) => {
        // Handlers answer every error themselves; reaching here is a bug in this server.
        Log.error("local server failed a request", { err });
        if (!res.headersSent) sendJson(res, 500, { error: { code: "internal", message: "internal error" } }, "local");
        else res.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
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
