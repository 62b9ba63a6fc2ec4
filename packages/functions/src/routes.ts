/**
 * The one route table. `sst.config.ts` (through infra/api.ts) deploys one
 * Lambda per entry, and `npm start` serves the same entries locally; a test
 * fails if a handler file has no route or a route has no handler file.
 *
 * Data only: no imports, so the SST config can read it without loading any
 * handler code.
 */

type Method = "GET" | "POST" | "PATCH" | "DELETE";

export interface Route {
  method: Method;
  /** API Gateway route path, `{name}` for path parameters. */
  path: string;
  /** Handler module under packages/functions/src, without extension; it exports `handler`. */
  file: string;
  /** Lambda memory in MB (default 1024). */
  memory?: number;
  /** Lambda timeout in seconds (default 20: inside API Gateway's 30 s limit). */
  timeout?: number;
  /** npm packages whose files the handler reads at run time: installed beside its bundle. */
  install?: string[];
}

export const routes: readonly Route[] = [
  { method: "GET", path: "/health/live", file: "health/live", memory: 256 },
  { method: "GET", path: "/health/ready", file: "health/ready", memory: 256 },

  { method: "GET", path: "/openapi.json", file: "docs/openapi", memory: 256 },
  { method: "GET", path: "/docs", file: "docs/page", memory: 256, install: ["swagger-ui-dist"] },

  { method: "GET", path: "/api/me", file: "session/me" },
  { method: "POST", path: "/api/auth/logout", file: "session/logout" },

  { method: "GET", path: "/api/rows", file: "row/list" },
  { method: "POST", path: "/api/rows", file: "row/create" },
  { method: "GET", path: "/api/rows/{row_id}", file: "row/get" },
  { method: "PATCH", path: "/api/rows/{row_id}", file: "row/update" },
  { method: "DELETE", path: "/api/rows/{row_id}", file: "row/remove" },

  { method: "GET", path: "/api/rows/{row_id}/bids", file: "bid/list" },
  { method: "POST", path: "/api/rows/{row_id}/bids/{bid_id}/select", file: "bid/select" },
  { method: "PATCH", path: "/api/bids/{bid_id}", file: "bid/update" },
  { method: "GET", path: "/api/sellers/{seller_id}/bids", file: "seller/bids" },

  { method: "GET", path: "/api/rows/{row_id}/comments", file: "comment/list" },
  { method: "POST", path: "/api/rows/{row_id}/comments", file: "comment/create" },

  { method: "POST", path: "/api/clickouts", file: "clickout/create" },
  { method: "POST", path: "/api/purchases", file: "purchase/create" },
  { method: "GET", path: "/api/purchases", file: "purchase/list" },

  { method: "POST", path: "/api/share-links", file: "share/create" },
  { method: "GET", path: "/api/share/{token}", file: "share/get" },

  { method: "GET", path: "/api/rows/{row_id}/outreach", file: "outreach/list" },
  { method: "GET", path: "/api/quotes/{token}", file: "quote/get" },
  { method: "POST", path: "/api/quotes/{token}", file: "quote/submit" },

  { method: "POST", path: "/api/signals", file: "signal/create" },
  { method: "GET", path: "/api/signals", file: "signal/list" },

  { method: "GET", path: "/api/admin/stats", file: "admin/stats" },
  { method: "GET", path: "/api/admin/clickouts", file: "admin/clickouts" },
  { method: "GET", path: "/api/admin/audit-log", file: "admin/audit-log" },
  { method: "GET", path: "/api/admin/merchants", file: "admin/merchants" },
  { method: "GET", path: "/api/admin/db/{report}", file: "admin/db-report" },
];

/** Answers every request no route matches with the contract's 404 (API Gateway's `$default` route). */
export const fallback = { file: "http/not-found" } as const;

/** Scheduled jobs: cron Lambdas (infra/cron.ts), no HTTP route; `npm run job -- <name>` runs one by hand. */
export interface Job {
  /** The job's name: its log lines and `npm run job -- <name>`. */
  name: string;
  /** Handler module under packages/functions/src, without extension. */
  file: string;
  /** An EventBridge Scheduler expression (UTC), e.g. "rate(1 hour)". */
  schedule: string;
}

export const jobs: readonly Job[] = [
  // Daily at a quiet hour: nothing depends on old sessions being gone by a given time.
  { name: "cleanup-sessions", file: "job/cleanup-sessions", schedule: "cron(17 3 * * ? *)" },
  // Every 15 minutes: a status catches up with its expiry within a quarter of an hour.
  { name: "expire-outreach", file: "job/expire-outreach", schedule: "rate(15 minutes)" },
  { name: "expire-quotes", file: "job/expire-quotes", schedule: "rate(15 minutes)" },
  // Every 5 minutes: the admin counts' rows stay a few hundred plus five minutes of writes.
  { name: "fold-stats", file: "job/fold-stats", schedule: "rate(5 minutes)" },
];

/** The route key API Gateway uses for a route: `GET /api/rows/{row_id}`. */
export function routeKey(route: Pick<Route, "method" | "path">): string {
  return `${route.method} ${route.path}`;
}

/** Matches a concrete request against the table (HEAD matches GET routes); path parameters come back decoded. */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; pathParameters: Record<string, string> } | null {
  const parts = path.split("/");
  for (const route of routes) {
    if (route.method !== method && !(method === "HEAD" && route.method === "GET")) continue;
    const pattern = route.path.split("/");
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i]!;
      const actual = parts[i]!;
      if (p.startsWith("{") && p.endsWith("}")) {
        if (actual === "") ok = false;
        else params[p.slice(1, -1)] = safeDecode(actual);
      } else if (p !== actual) ok = false;
    }
    if (ok) return { route, pathParameters: params };
  }
  return null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
