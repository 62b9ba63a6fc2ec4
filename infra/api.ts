import { fallback, routeKey, routes } from "../packages/functions/src/routes.ts";
import { functionDefaults, type FunctionSize } from "./function.ts";
import { migration } from "./migrations.ts";

/**
 * One API Gateway HTTP API (payload v2), one Lambda per entry of the route table
 * (packages/functions/src/routes.ts, the same table `npm start` serves), plus the
 * `$default` route so unknown methods and paths get the contract's JSON 404 rather
 * than API Gateway's own `{"message":"Not Found"}`.
 */

export const api = new sst.aws.ApiGatewayV2("Api", {
  transform: {
    route: {
      // Every route's function waits for this deploy's migrations: new handler code
      // may need the new schema, and a failed migration must leave the old code
      // serving. route() takes no resource options, so dependsOn goes through this
      // transform; the function's own resources (role, Lambda) are its children and
      // wait for it. In `sst dev` there is no migration to wait for.
      handler: (_args, opts) => {
        if (migration) opts.dependsOn = [migration];
        return undefined;
      },
    },
  },
});

/** The arguments of one route's function. */
function routeFunction(file: string, size: FunctionSize = {}, install?: string[]): sst.aws.FunctionArgs {
  const defaults = functionDefaults(size);
  return {
    ...defaults,
    handler: `packages/functions/src/${file}.handler`,
    ...(install ? { nodejs: { ...defaults.nodejs, install } } : {}),
  };
}

for (const route of routes) {
  const { nodes } = api.route(routeKey(route), routeFunction(route.file, route, route.install));
  // API Gateway matches a HEAD request only to a HEAD route (else $default's 404): the GET
  // route's own function answers it, headers only, as `npm start` does (link unfurlers send HEAD).
  if (route.method === "GET") api.route(`HEAD ${route.path}`, nodes.function.arn);
}

// Small: it only answers 404s (scanners probing random paths), like the health checks.
api.route("$default", routeFunction(fallback.file, { memory: 256 }));
