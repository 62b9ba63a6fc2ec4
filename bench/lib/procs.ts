import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";

/**
 * Child processes, CPU accounting from /proc, and one cleanup list that runs
 * on success, failure and Ctrl-C alike.
 */

const TICK_MS = 1000 / (Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100);

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of the children it has reaped. */
  ms: number;
}

function readStat(pid: number | string): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces: state is field 3, ppid 4, utime 14 .. cstime 17.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return { pid: Number(pid), ppid: Number(f[1]), ms: ticks * TICK_MS };
  } catch {
    return null; // it exited
  }
}

function allStats(): Stat[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(readStat)
    .filter((s): s is Stat => s !== null);
}

/** The pids of `root` and all its descendants. */
export function tree(root: number, stats = allStats()): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const s of stats) if (s.ppid === out[i]) out.push(s.pid);
  return out;
}

/**
 * CPU milliseconds used so far by each group of process trees (a root and
 * all its descendants), exited children included: a reaped child's time moves
 * into its parent's cutime. One pass over /proc for all groups.
 */
export function cpuByGroup<K extends string>(groups: Record<K, number[]>): Record<K, number> {
  const stats = allStats();
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out = {} as Record<K, number>;
  for (const key of Object.keys(groups) as K[]) {
    out[key] = 0;
    for (const root of groups[key]) for (const pid of tree(root, stats)) out[key] += byPid.get(pid)?.ms ?? 0;
  }
  return out;
}

/** One process's CPU milliseconds, its reaped children included (the load generator and pgbench). */
export function ownCpuMs(pid = process.pid): number {
  return readStat(pid)?.ms ?? 0;
}

export function parentPid(pid: number): number | null {
  return readStat(pid)?.ppid ?? null;
}

/** How many of `root`'s children have a command line that `match` accepts. */
export function childrenMatching(root: number, match: (cmdline: string) => boolean): number {
  let n = 0;
  for (const s of allStats()) {
    if (s.ppid !== root) continue;
    try {
      if (match(readFileSync(`/proc/${s.pid}/cmdline`, "utf8"))) n++;
    } catch {
      // exited
    }
  }
  return n;
}

/** Busy CPU milliseconds of the whole machine, all cores (everything but idle and iowait). */
export function machineBusyMs(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) * TICK_MS;
}

// ---------------------------------------------------------------------------
// Cleanup

const cleanups: Array<() => Promise<void> | void> = [];
let closing = false;

/** Registers `fn` to run at exit, last registered first; returns a function that unregisters it. */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  if (closing) {
    // Registered after Ctrl-C (by something that was already starting): run it now.
    void Promise.resolve().then(fn);
    return () => {};
  }
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

async function cleanupAll(): Promise<void> {
  closing = true; // nothing new starts while we stop everything
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      process.stderr.write(`cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

// ---------------------------------------------------------------------------
// Children

export interface Child {
  pid: number;
  proc: ChildProcess;
  /** The last few KB of its stderr (and stdout when piped), for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Keep its stdout (default: discarded, like a server's request log). */
  stdout?: boolean;
  /** An IPC channel (a node child). */
  ipc?: boolean;
}

/** Starts a long-running child that is stopped at cleanup if still running. */
export function startChild(command: string, args: string[], options: ChildOptions = {}): Child {
  if (closing) throw new Error("shutting down");
  const proc = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ["ignore", options.stdout ? "pipe" : "ignore", "pipe", ...(options.ipc ? (["ipc"] as const) : [])],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${command}`);
  let tail = "";
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000));
  proc.stderr?.on("data", keep);
  proc.stdout?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once("exit", () => resolve());
  });
  const stop = async (graceMs = 5000) => {
    if (proc.exitCode === null && proc.signalCode === null) {
      // Its own children first (runuser's pgbouncer), then itself.
      const pids = tree(proc.pid!).reverse();
      const signal = (sig: NodeJS.Signals) => pids.forEach((pid) => void tryKill(pid, sig));
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    unregister();
  };
  const unregister = onCleanup(() => stop(2000));
  return { pid: proc.pid, proc, output: () => tail, stop };
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const proc = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    proc.once("error", reject);
    proc.once("close", resolve);
  });
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${code}):\n${out.slice(-3000)}`);
  return out;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Waits until `url` answers any HTTP response, or the child exits, or `timeoutMs` passes. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${url}: the server exited (${child.proc.exitCode}):\n${child.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s:\n${child.output()}`);
}

/** A bad option: the benchmark prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/** A numeric option: `fallback` when absent, a UsageError when not a number of at least `min`. */
export function numberOption(name: string, raw: string | undefined, fallback: number, min: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min} (got "${raw}")`);
  return n;
}

/**
 * Runs a benchmark's `main` to the end, then exits: everything registered with
 * onCleanup is stopped and removed on success, on failure and on Ctrl-C.
 */
export async function runBenchmark(name: string, usage: string, main: () => Promise<void>): Promise<never> {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`\n${signal}: stopping servers, proxies and Postgres...\n`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
  try {
    await main();
    await cleanupAll();
    process.exit(0);
  } catch (err) {
    process.stderr.write(err instanceof UsageError ? `${err.message}\n\n${usage}` : `${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await cleanupAll();
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}
