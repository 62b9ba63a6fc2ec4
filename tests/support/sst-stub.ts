/**
 * Recording fakes for the globals SST gives sst.config.ts and infra/*.ts ($config,
 * $app, $dev, sst.*, aws.*), so a test can evaluate the real config offline, with
 * no Pulumi engine and no AWS account, and read back what it would create.
 *
 * The fakes keep only what the config uses; resource inputs are recorded as given.
 * Outputs (a secret's value, a function's name, the API's URL) are `FakeOutput`s
 * naming where they came from, so a test can check what was wired to what.
 */

/** Stands in for a Pulumi Output: records which resource attribute it would resolve to. */
class FakeOutput {
  readonly from: string;
  constructor(from: string) {
    this.from = from;
  }
  apply<T>(fn: (value: string) => T): T {
    return fn(`<${this.from}>`);
  }
  toString(): string {
    return `<${this.from}>`;
  }
}

/** Pulumi resource options as the config passes them; only what tests read. */
interface FakeOptions {
  dependsOn?: unknown;
  parent?: unknown;
}

/** Every resource the config created, in creation order. */
export interface Created {
  type: string;
  name: string;
  args: unknown;
  opts: FakeOptions | undefined;
  resource: object;
}

interface RecordedRoute {
  key: string;
  /** The handler argument of `api.route()`, after the API's `transform.route.handler` ran. */
  handler: unknown;
  /** The resource options SST would give the route's function, after the transform. */
  handlerOpts: FakeOptions;
}

export interface SstStub {
  created: Created[];
  routes: RecordedRoute[];
  /** The resources of one type (`"sst.aws.Function"`, `"aws.lambda.Invocation"`, ...). */
  ofType(type: string): Created[];
  /** Removes the globals again. */
  uninstall(): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

type HandlerTransform = (args: unknown, opts: FakeOptions, name: string) => unknown;

/** The API's `transform.route.handler` callback, if the config set one. */
function routeHandlerTransform(args: unknown): HandlerTransform | undefined {
  if (!isRecord(args) || !isRecord(args.transform) || !isRecord(args.transform.route)) return undefined;
  const handler = args.transform.route.handler;
  return typeof handler === "function" ? (handler as HandlerTransform) : undefined;
}

const GLOBALS = ["$config", "$app", "$dev", "$interpolate", "sst", "aws"] as const;

/** Installs the fakes on globalThis for one evaluation of the config. */
export function installSstStub(context: { stage: string; dev?: boolean }): SstStub {
  const created: Created[] = [];
  const routes: RecordedRoute[] = [];

  function record(type: string, name: string, args: unknown, opts: FakeOptions | undefined, resource: object) {
    created.push({ type, name, args, opts, resource });
  }

  class Secret {
    readonly value: FakeOutput;
    readonly name: string;
    constructor(name: string, placeholder?: unknown) {
      this.name = name;
      this.value = new FakeOutput(`Secret ${name}`);
      record("sst.Secret", name, { placeholder }, undefined, this);
    }
  }

  // Not named Function: that would shadow the global inside this scope.
  class SstFunction {
    readonly name: FakeOutput;
    readonly arn: FakeOutput;
    constructor(name: string, args: unknown, opts?: FakeOptions) {
      this.name = new FakeOutput(`Function ${name} name`);
      this.arn = new FakeOutput(`Function ${name} arn`);
      record("sst.aws.Function", name, args, opts, this);
    }
  }

  class ApiGatewayV2 {
    readonly url: FakeOutput;
    readonly #args: unknown;
    constructor(name: string, args?: unknown, opts?: FakeOptions) {
      this.url = new FakeOutput(`ApiGatewayV2 ${name} url`);
      this.#args = args;
      record("sst.aws.ApiGatewayV2", name, args, opts, this);
    }
    route(key: string, handler: unknown, args?: unknown) {
      // SST runs the API's handler transform with the options it then gives the
      // route's function (ApiGatewayV2LambdaRoute → functionBuilder); do the same.
      const handlerOpts: FakeOptions = {};
      routeHandlerTransform(this.#args)?.(handler, handlerOpts, key);
      routes.push({ key, handler, handlerOpts });
      record("sst.aws.ApiGatewayV2.route", key, args, undefined, this);
      return { nodes: { function: { arn: new FakeOutput(`route ${key} function arn`) } } };
    }
  }

  class CronV2 {
    constructor(name: string, args: unknown, opts?: FakeOptions) {
      record("sst.aws.CronV2", name, args, opts, this);
    }
  }

  class Cron {
    constructor(name: string, args: unknown, opts?: FakeOptions) {
      record("sst.aws.Cron", name, args, opts, this);
    }
  }

  class Invocation {
    readonly result: FakeOutput;
    constructor(name: string, args: unknown, opts?: FakeOptions) {
      this.result = new FakeOutput(`Invocation ${name} result`);
      record("aws.lambda.Invocation", name, args, opts, this);
    }
  }

  const globals: Record<(typeof GLOBALS)[number], unknown> = {
    // The real $config hands its argument to the CLI; returning it lets tests call app() and run().
    $config: (config: unknown) => config,
    $app: { name: "shopping-agent", stage: context.stage },
    $dev: context.dev ?? false,
    $interpolate: (strings: TemplateStringsArray, ...values: unknown[]) =>
      strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ""), ""),
    sst: { Secret, aws: { ApiGatewayV2, Function: SstFunction, Cron, CronV2 } },
    aws: { lambda: { Invocation } },
  };
  Object.assign(globalThis, globals);

  return {
    created,
    routes,
    ofType: (type) => created.filter((c) => c.type === type),
    uninstall() {
      for (const name of GLOBALS) Reflect.deleteProperty(globalThis, name);
    },
  };
}
