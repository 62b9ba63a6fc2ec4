import { fileURLToPath } from "node:url";
import { startNeonBridge } from "../../tests/support/neon-bridge.ts";
import { startDelayProxy, type Counts } from "./delay-proxy.ts";
import { startChild, type Child } from "./procs.ts";

/**
 * The network pieces that stand between our server and Postgres (the Neon
 * WebSocket bridge, the delaying proxy), each in a child process of its own:
 * their CPU is measured apart from the load generator's, and a busy load
 * generator does not stretch the proxy's delays.
 *
 *   node bench/lib/sidecar.ts bridge <host:port>
 *   node bench/lib/sidecar.ts delay <host:port> <ms>
 */

type Ready = { ready: string };
type Request = "counts" | "reset";

export interface Sidecar {
  child: Child;
  /** bridge: the NEON_WS_PROXY value; delay: the port. */
  address: string;
  counts(): Promise<Counts>;
  reset(): Promise<void>;
}

export async function startSidecar(kind: "bridge" | "delay", target: { host: string; port: number }, delayMs = 0): Promise<Sidecar> {
  const args = [fileURLToPath(import.meta.url), kind, `${target.host}:${target.port}`, String(delayMs)];
  const child = startChild(process.execPath, args, { ipc: true });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        child.proc.off("exit", onExit);
        resolve(m as T);
      };
      const onExit = () => {
        child.proc.off("message", onMessage);
        reject(new Error(`${kind} sidecar exited:\n${child.output()}`));
      };
      child.proc.once("message", onMessage);
      child.proc.once("exit", onExit);
    });
  const ask = <T>(request: Request) => {
    const answer = next<T>();
    child.proc.send(request);
    return answer;
  };
  const { ready } = await next<Ready>();
  return { child, address: ready, counts: () => ask<Counts>("counts"), reset: () => ask<void>("reset").then(() => {}) };
}

async function main([kind, target, delay]: string[]) {
  const [host, port] = target!.split(":");
  const to = { host: host!, port: Number(port) };
  let counts = (): Counts => ({ connections: 0, roundTrips: 0 });
  let reset = () => {};
  let address: string;
  if (kind === "bridge") {
    address = (await startNeonBridge(to)).proxy;
  } else {
    const proxy = await startDelayProxy(to, Number(delay));
    ({ counts, reset } = proxy);
    address = String(proxy.port);
  }
  process.on("message", (request: Request) => {
    if (request === "reset") reset();
    process.send!(request === "counts" ? counts() : {});
  });
  // The benchmark went away (even killed): so do we.
  process.on("disconnect", () => process.exit(0));
  process.send!({ ready: address } satisfies Ready);
}

if (import.meta.main) await main(process.argv.slice(2));
