/**
 * One cold start, in a fresh process: import a bundled handler, then invoke its
 * `handler` with each event in turn, as Lambda would. Times are
 * `performance.now()`, milliseconds since this process started.
 *
 * `node child.mjs [<bundle.mjs> <events.json>] <result.json>`: without a bundle
 * it only records when Node handed it control (Node's own startup). The bench
 * bundles this file first, so no TypeScript is stripped on the measured path.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const boot = performance.now();

interface Invocation {
  status: number;
  /** From the call to the settled response. */
  ms: number;
  cpu_ms: number;
  /** performance.now() when the response was ready. */
  at: number;
  items: number | null;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

const args = process.argv.slice(2);
const resultFile = args.pop()!;
const [bundle, eventsFile] = args;

if (!bundle || !eventsFile) {
  writeFileSync(resultFile, JSON.stringify({ boot }));
} else {
  const events = JSON.parse(readFileSync(eventsFile, "utf8")) as unknown[];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const mod = (await import(pathToFileURL(bundle).href)) as { handler?: (event: unknown, context: unknown) => Promise<{ statusCode?: number; body?: string }> };
  const t1 = performance.now();
  const cpuImport = cpuMs(cpu0);
  const invocations: Invocation[] = [];
  for (const [i, event] of events.entries()) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const result = await mod.handler!(event, { awsRequestId: `cold-${i}`, getRemainingTimeInMillis: () => 20_000 });
    const at = performance.now();
    let items: number | null = null;
    try {
      const body = JSON.parse(result.body ?? "null") as { items?: unknown[] } | null;
      items = Array.isArray(body?.items) ? body.items.length : null;
    } catch {
      // not JSON: nothing to count
    }
    invocations.push({ status: result.statusCode ?? 200, ms: at - started, cpu_ms: cpuMs(cpu), at, items });
  }
  writeFileSync(resultFile, JSON.stringify({ boot, import_start: t0, import_ms: t1 - t0, cpu_import_ms: cpuImport, invocations }));
}
// A connection some driver left open must not keep a measured process alive.
process.exit(0);
