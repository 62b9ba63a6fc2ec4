import { connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type RawData } from "ws";

/**
 * A WebSocket-to-TCP bridge speaking the protocol of Neon's wsproxy: the Neon
 * driver opens `ws://<bridge>/v2?address=host:port` and exchanges raw Postgres
 * protocol bytes in binary frames. With it the Neon driver runs against any
 * local Postgres, so its code path is tested without Neon.
 *
 * Only the target given at start is reachable: this is not an open proxy.
 */

export interface NeonBridge {
  /** The value for NEON_WS_PROXY (host:port/path, no scheme). */
  proxy: string;
  /** Connections currently bridged. */
  open(): number;
  close(): Promise<void>;
}

export async function startNeonBridge(target: { host: string; port: number }): Promise<NeonBridge> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const sockets = new Set<Socket>();
  const allowed = new Set([`${target.host}:${target.port}`, `localhost:${target.port}`, `127.0.0.1:${target.port}`]);

  wss.on("connection", (ws, request) => {
    const address = new URL(request.url ?? "/", "http://bridge").searchParams.get("address") ?? "";
    if (!allowed.has(address)) {
      ws.close(1008, "address not allowed");
      return;
    }
    const socket = connect(target.port, target.host);
    sockets.add(socket);
    socket.setNoDelay(true);
    ws.on("message", (data: RawData) => {
      socket.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    socket.on("data", (chunk) => ws.send(chunk));
    const shut = () => {
      sockets.delete(socket);
      socket.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    socket.on("close", shut);
    socket.on("error", shut);
    ws.on("close", shut);
    ws.on("error", shut);
  });

  const { port } = wss.address() as AddressInfo;
  return {
    proxy: `127.0.0.1:${port}/v2`,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
