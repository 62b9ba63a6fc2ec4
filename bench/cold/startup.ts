import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { toEvent } from "../../packages/functions/src/local/event.ts";
import { matchRoute } from "../../packages/functions/src/routes.ts";

/**
 * Cold starts: a fresh Node process per run imports a bundle and serves its
 * first request (bench/cold/child.ts). Runs of all configurations interleave
 * (round-robin, the order rotated each round), so load on the shared machine
 * falls on all of them alike; the summary keeps medians.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** One configuration: a bundle, its events, its environment. Null bundle: Node's own startup. */
export interface Config {
  name: string;
  bundle: string | null;
  events: APIGatewayProxyEventV2[];
  env: Record<string, string>;
  /** Status every response must have. */
  expect: number;
}

interface ChildInvocation {
  status: number;
  ms: number;
  cpu_ms: number;
  at: number;
  items: number | null;
}

interface ChildResult {
  boot: number;
  import_start?: number;
  import_ms?: number;
  cpu_import_ms?: number;
  invocations?: ChildInvocation[];
}

/** One run of one configuration, milliseconds. */
export interface Sample {
  config: string;
  round: number;
  /** When Node ran the child's first line (its own startup). */
  boot_ms: number;
  import_ms: number | null;
  /** The first request: handler called → response ready. */
  first_ms: number | null;
  /** Process start → first response ready (import only, for configurations without requests). */
  total_ms: number;
  /** The same request again, in the now warm process. */
  second_ms: number | null;
  cpu_import_ms: number | null;
  cpu_first_ms: number | null;
  /** Spawn → exit, seen from the bench (includes process teardown). */
  wall_ms: number;
  status: number | null;
  items: number | null;
  /** From the request's log line. */
  queries: number | null;
  query_ms: number | null;
}

/** `chrt -f 5` before each measured process when the system allows it (less scheduling noise). */
export function realtimePrefix(wanted: boolean): string[] {
  if (!wanted) return [];
  const probe = spawnSync("chrt", ["-f", "5", "true"], { stdio: "ignore" });
  return probe.status === 0 ? ["chrt", "-f", "5"] : [];
}

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

function run(command: string[], env: Record<string, string>): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command[0]!, command.slice(1), { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, wallMs: performance.now() - started }));
  });
}

/** An API Gateway HTTP API (payload v2) event, built the way `npm start` builds them. */
export function event(method: string, url: string, token: string | null, body?: unknown): APIGatewayProxyEventV2 {
  const path = url.split("?")[0]!;
  const match = matchRoute(method, path);
  if (!match) throw new Error(`no route for ${method} ${path}`);
  return toEvent(
    {
      method,
      url,
      headers: {
        host: "cold.bench.example",
        "x-forwarded-proto": "https",
        "user-agent": "bench:cold",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
      sourceIp: "127.0.0.1",
      requestId: `cold-${method}-${path}`,
    },
    match,
  );
}

export class Runner {
  readonly #node: string[];
  readonly #child: string;
  readonly #dir = mkdtempSync(join(tmpdir(), "shop-cold-run-"));
  #n = 0;

  /** `child`: the bundled bench/cold/child.ts; `prefix`: e.g. chrt. */
  constructor(child: string, prefix: string[]) {
    this.#child = child;
    this.#node = [...prefix, process.execPath];
  }

  /** Runs one configuration once. */
  async sample(config: Config, round: number): Promise<Sample> {
    const id = this.#n++;
    const resultFile = join(this.#dir, `${id}.result.json`);
    const args = [this.#child];
    if (config.bundle) {
      const eventsFile = join(this.#dir, `${id}.events.json`);
      writeFileSync(eventsFile, JSON.stringify(config.events));
      args.push(config.bundle, eventsFile);
    }
    args.push(resultFile);
    const exited = await run([...this.#node, ...args], config.env);
    let result: ChildResult;
    try {
      result = JSON.parse(readFileSync(resultFile, "utf8")) as ChildResult;
    } catch {
      throw new Error(`${config.name}: the child gave no result (exit ${exited.code})\n${exited.stdout}${exited.stderr}`);
    }
    const [first, second] = result.invocations ?? [];
    for (const inv of result.invocations ?? []) {
      if (inv.status !== config.expect) {
        throw new Error(`${config.name}: status ${inv.status}, expected ${config.expect}\n${exited.stdout}${exited.stderr}`);
      }
    }
    const logged = exited.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; queries?: number; query_ms?: number })
      .find((line) => line.msg === "request");
    const importEnd = (result.import_start ?? result.boot) + (result.import_ms ?? 0);
    return {
      config: config.name,
      round,
      boot_ms: result.boot,
      import_ms: result.import_ms ?? null,
      first_ms: first?.ms ?? null,
      total_ms: first?.at ?? importEnd,
      second_ms: second?.ms ?? null,
      cpu_import_ms: result.cpu_import_ms ?? null,
      cpu_first_ms: first?.cpu_ms ?? null,
      wall_ms: exited.wallMs,
      status: first?.status ?? null,
      items: first?.items ?? null,
      queries: logged?.queries ?? null,
      query_ms: logged?.query_ms ?? null,
    };
  }

  /** `rounds` interleaved rounds over every configuration, after `warmup` rounds that are thrown away. */
  async measure(configs: Config[], rounds: number, warmup: number, progress: (done: number, total: number) => void): Promise<Sample[]> {
    const samples: Sample[] = [];
    const total = (rounds + warmup) * configs.length;
    let done = 0;
    for (let round = -warmup; round < rounds; round++) {
      const offset = ((round % configs.length) + configs.length) % configs.length;
      for (let i = 0; i < configs.length; i++) {
        const sample = await this.sample(configs[(i + offset) % configs.length]!, round);
        if (round >= 0) samples.push(sample);
        progress(++done, total);
      }
    }
    return samples;
  }

  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A bearer token for a bench user, from `npm run session:create` against the database. */
export async function createSession(databaseUrl: string, email: string): Promise<string> {
  const exited = await run(
    [process.execPath, "packages/functions/src/local/session-create.ts", "--email", email, "--days", "1"],
    { PATH: process.env.PATH ?? "", DATABASE_URL: databaseUrl },
  );
  const token = exited.stdout.trim().split("\n").pop() ?? "";
  if (exited.code !== 0 || !token.startsWith("sa_")) throw new Error(`session:create failed:\n${exited.stderr}`);
  return token;
}
