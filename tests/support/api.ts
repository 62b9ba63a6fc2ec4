import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { Database } from "@shop/core/db";
import { fromResult, toEvent } from "@shop/functions/local/event";
import { fallback, matchRoute } from "@shop/functions/routes";
import { checkResponse } from "./contract.ts";
import { createTestDatabase, stopNeonBridge, type TargetName, type TestDatabase } from "./db.ts";

/**
 * Calls handlers the way API Gateway does: the request becomes a payload v2
 * event (the same builder `npm start` uses), the route table picks the
 * handler file, and its exported `handler` runs against a real database.
 */

type Handler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

const modules = new Map<string, Promise<{ handler: Handler }>>();

function load(file: string): Promise<{ handler: Handler }> {
  let mod = modules.get(file);
  if (!mod) {
    const url = new URL(`../../packages/functions/src/${file}.ts`, import.meta.url).href;
    mod = import(/* @vite-ignore */ url) as Promise<{ handler: Handler }>;
    modules.set(file, mod);
  }
  return mod;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is (for malformed JSON tests). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * Response bodies are whatever JSON the server sent: tests read them freely
 * and assert their shape, hence the one `any` of the test suite.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface CallResult<T = Json> {
  status: number;
  headers: Record<string, string | string[]>;
  body: T;
  event: APIGatewayProxyEventV2;
}

/** Invokes the handler the route table maps `method url` to. */
export async function call<T = Json>(method: string, url: string, options: CallOptions = {}): Promise<CallResult<T>> {
  // As API Gateway sends them: the deployed API is https-only.
  const headers: Record<string, string> = { host: "api.test", "x-forwarded-proto": "https", ...options.headers };
  if (options.token) headers["authorization"] = `Bearer ${options.token}`;
  let body: Buffer | undefined;
  if (options.rawBody !== undefined) body = Buffer.from(options.rawBody);
  else if (options.body !== undefined) body = Buffer.from(JSON.stringify(options.body));
  if (body && !headers["content-type"]) headers["content-type"] = "application/json";
  const path = url.split("?")[0]!;
  const match = matchRoute(method, path);
  const event = toEvent({ method, url, headers, ...(body ? { body } : {}), requestId: randomUUID() }, match);
  const { handler } = await load(match ? match.route.file : fallback.file);
  const res = fromResult(await handler(event, { awsRequestId: event.requestContext.requestId }));
  const text = res.body.toString("utf8");
  checkResponse(method, url, { ...res, body: text });
  const json = /^application\/json/.test(String(res.headers["content-type"]));
  return { status: res.status, headers: res.headers, body: text ? (json ? JSON.parse(text) : text) : null, event };
}

/**
 * Gives a describe block its own migrated database of `target`, installed as
 * the process database that handlers use, and removes it afterwards.
 */
export function useApiDatabase(target: TargetName): { url: () => string | null } {
  let db: TestDatabase | null = null;
  beforeAll(async () => {
    db = await createTestDatabase(target, { settings: { useNullPool: true } });
    Database.setDefault(db.client);
  });
  afterAll(async () => {
    Database.setDefault(null);
    await db?.drop();
    await stopNeonBridge();
  });
  /** The database's plain `pg` URL for side-channel checks (server targets; null on PGlite). */
  return { url: () => db?.url ?? null };
}

/** Asserts the contract's 400: `invalid_request` with a detail at `path` (e.g. "body.title"). */
export function expectInvalid(res: CallResult, path: string): void {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe("invalid_request");
  expect(res.body.error.details).toContainEqual(expect.objectContaining({ path, message: expect.any(String) }));
}
