import { readFileSync } from "node:fs";

/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and
 * per package, as shares of the non-idle samples, within a time window (the
 * measurement, not start-up and warm-up). Profile timestamps are the
 * monotonic clock in microseconds, as process.hrtime() in any process here.
 *
 * A sample is wall time on the main thread: a native call such as writev
 * also carries the time the thread waited descheduled inside it, which on a
 * busy machine is much of it.
 */

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: Node[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  total_ms: number;
  idle_ms: number;
  /** Requests answered in the window: self times are also given per request. */
  requests: number;
  functions: Array<{ name: string; where: string; package: string; self_ms: number; self_pct: number; ms_per_req: number }>;
  packages: Array<{ package: string; self_ms: number; self_pct: number; ms_per_req: number }>;
}

/** Where a script belongs: an npm package, a workspace package, node's own code, or V8. */
function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native)";
  if (url.startsWith("node:")) return "node (built-in)";
  const path = decodeURIComponent(url.replace(/^file:\/\//, ""));
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.slice(path.lastIndexOf("node_modules/")));
  if (mod) return mod[1]!;
  const own = /\/(packages\/[^/]+|bench)\//.exec(path);
  return own ? own[1]! : path;
}

function shortPath(url: string): string {
  const path = decodeURIComponent(url.replace(/^file:\/\//, ""));
  const i = path.lastIndexOf("node_modules/");
  if (i >= 0) return path.slice(i + "node_modules/".length);
  const own = /\/((?:packages|bench)\/.*)$/.exec(path);
  return own ? own[1]! : path;
}

export function summariseProfile(file: string, window: [startUs: number, endUs: number], requests: number, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i: it belongs to the sample before it.
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length - 1; i++) {
    t += profile.timeDeltas[i]!;
    if (t < window[0] || t > window[1]) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i + 1]!);
  }
  const fns = new Map<string, { name: string; where: string; package: string; us: number }>();
  const pkgs = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const pkg = packageOf(url, functionName);
    const where = url ? `${shortPath(url)}:${lineNumber + 1}` : "";
    const key = `${functionName}@${where}`;
    const entry = fns.get(key) ?? { name: functionName || "(anonymous)", where, package: pkg, us: 0 };
    entry.us += us;
    fns.set(key, entry);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((1000 * us) / total) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const perReq = (us: number) => Math.round(us / requests) / 1000;
  return {
    total_ms: ms(total),
    idle_ms: ms(idle),
    requests,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, package: f.package, self_ms: ms(f.us), self_pct: pct(f.us), ms_per_req: perReq(f.us) })),
    packages: [...pkgs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, us]) => ({ package: pkg, self_ms: ms(us), self_pct: pct(us), ms_per_req: perReq(us) })),
  };
}
