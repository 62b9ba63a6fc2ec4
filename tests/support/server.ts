import { spawn, type ChildProcess } from "node:child_process";

/**
 * Runs the real `npm start` entry point (packages/functions/src/local/main.ts)
 * in a child process, as a developer would, on a free port.
 */
export interface RunningServer {
  url: string;
  /** The demo token printed on an embedded start, if any. */
  demoToken: string | null;
  output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const ENTRY = "packages/functions/src/local/main.ts";

export async function startLocalServer(env: Record<string, string>): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, PORT: "0", NODE_ENV: "test", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const check = () => {
      // The banner is complete once it says how to stop.
      const m = /Ctrl-C to stop/.test(output) ? /listening on (http:\/\/\S+)/.exec(output) : null;
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const token = /Authorization: Bearer (sa_[A-Za-z0-9_-]+)/.exec(output)?.[1] ?? null;
  return {
    url,
    demoToken: token,
    output: () => output,
    stop: async (signal = "SIGINT") => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs `npm run session:create` (its entry point) and returns the printed
 * token. Asynchronous on purpose: the Neon bridge it may talk to lives in
 * this process and must keep serving while the CLI runs.
 */
export async function createSessionViaCli(
  env: Record<string, string>,
  args: string[],
): Promise<{ token: string; stderr: string }> {
  const child = spawn(process.execPath, ["packages/functions/src/local/session-create.ts", ...args], {
    env: { ...process.env, NODE_ENV: "test", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`session:create failed (${code}): ${stderr}`);
  return { token: stdout.trim(), stderr };
}
