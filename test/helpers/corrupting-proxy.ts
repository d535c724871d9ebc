import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of one server that changes one byte of what clients send: the
 * byte at `offset` of the first connection that sends that many, once. What a bad cable or NIC does
 * to a body, to prove that the receiver's checksum refuses it.
 */
export interface CorruptingProxy {
  url: string;
  /** Whether the byte has been changed yet. */
  readonly corrupted: boolean;
  close(): Promise<void>;
}

export async function startCorruptingProxy(target: string, offset: number): Promise<CorruptingProxy> {
  const upstream = new URL(target);
  let corrupted = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const out = connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, out]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        out.destroy();
      });
    }
    let sent = 0;
    client.on("data", (chunk: Buffer) => {
      if (!corrupted && sent + chunk.length > offset) {
        const at = offset - sent;
        chunk[at] = (chunk[at] as number) ^ 0xff;
        corrupted = true;
      }
      sent += chunk.length;
      out.write(chunk);
    });
    client.on("end", () => out.end());
    out.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get corrupted() {
      return corrupted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
