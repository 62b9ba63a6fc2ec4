import { connect, createServer, type AddressInfo, type Socket } from "node:net";

/**
 * A TCP proxy that delays every chunk by `delayMs` each way (a Lambda in one
 * availability zone, its database in another) and counts database round
 * trips: a new connection costs one (the TCP handshake, delayed like one), and
 * each client-to-server burst that follows a server-to-client one (or opens
 * the conversation) starts another.
 */

export interface Counts {
  connections: number;
  roundTrips: number;
}

interface DelayProxy {
  port: number;
  counts(): Counts;
  reset(): void;
  close(): Promise<void>;
}

export async function startDelayProxy(target: { host: string; port: number }, delayMs: number): Promise<DelayProxy> {
  const counts: Counts = { connections: 0, roundTrips: 0 };
  const sockets = new Set<Socket>();
  // Timers of one duration fire in the order they were set, so bytes keep their order.
  const later = (fn: () => void) => (delayMs > 0 ? setTimeout(fn, delayMs) : fn());

  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    counts.connections++;
    counts.roundTrips++;
    client.pause();
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    sockets.add(client).add(upstream);
    // The handshake's round trip: the client may speak once SYN and SYN-ACK have crossed.
    upstream.once("connect", () => setTimeout(() => client.resume(), 2 * delayMs));
    let last: "up" | "down" | null = null;
    client.on("data", (chunk) => {
      if (last !== "up") counts.roundTrips++;
      last = "up";
      later(() => upstream.write(chunk));
    });
    upstream.on("data", (chunk) => {
      last = "down";
      later(() => client.write(chunk));
    });
    client.on("end", () => later(() => upstream.end()));
    upstream.on("end", () => later(() => client.end()));
    const drop = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      later(() => {
        client.destroy();
        upstream.destroy();
      });
    };
    client.on("close", drop);
    upstream.on("close", drop);
    client.on("error", drop);
    upstream.on("error", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    counts: () => ({ ...counts }),
    reset: () => {
      counts.connections = 0;
      counts.roundTrips = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
