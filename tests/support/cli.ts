import { spawn } from "node:child_process";

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the npm scripts' entry files as a child process (NODE_ENV=test, `env` on top) and collects its output. */
export function runScript(file: string, env: Record<string, string>, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env: { ...process.env, NODE_ENV: "test", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
