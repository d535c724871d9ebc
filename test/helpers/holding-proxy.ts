import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of one MinIO server, that can hold back one chosen
 * request: the way to stop a `pulumi up` or `destroy` at an exact point between two of a provider's
 * requests. Requests are forwarded byte for byte, headers in their original order and case, the
 * Host header included: SigV4 signs it, so MinIO checks the signature against the Host the client
 * used (the proxy's address), which is valid; MinIO does not require Host to name itself.
 */
export interface HoldingProxy {
  /** The proxy's URL (`http://127.0.0.1:PORT`): configure it as the endpoint the engine uses. */
  url: string;
  /** Every request the proxy has seen, in order of arrival (`METHOD /path?query`): for diagnostics. */
  seen: string[];
  /**
   * Holds the next request that matches, and resolves when it is held. `reachServer` false (the
   * default): the request is held as it arrives, MinIO never sees it (killed before request N).
   * `reachServer` true: MinIO gets it and answers, the answer is held (killed after MinIO did N,
   * before the provider knew). Either way the client never gets an answer until `drop`.
   */
  holdNext(match: RequestMatcher, options?: { reachServer?: boolean }): Promise<HeldRequest>;
  /** Forgets the holds no request has matched yet (a run that ended before reaching its hold point). */
  cancelHolds(): void;
  close(): Promise<void>;
}

/** A request as a matcher sees it. */
export interface ProxiedRequest {
  method: string;
  /** The path without the query, e.g. `/workflow-artifacts` or `/minio/admin/v3/add-user`. */
  path: string;
  query: URLSearchParams;
}
export type RequestMatcher = (request: ProxiedRequest) => boolean;

export interface HeldRequest {
  request: ProxiedRequest;
  /** Cuts the held connection: the client sees it reset, the held request is never answered. */
  drop(): void;
}

interface PendingHold {
  match: RequestMatcher;
  reachServer: boolean;
  resolve(held: HeldRequest): void;
}

export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  // An agent of its own, so `close` can end every upstream connection the proxy opened.
  const agent = new Agent({ keepAlive: true });
  const seen: string[] = [];
  const holds: PendingHold[] = [];
  const held: HeldRequest[] = [];

  /** Forwards the request as received and hands MinIO's answer, unread, to `answer`. */
  const forward = (req: IncomingMessage, answer: (res: IncomingMessage) => void, fail: (err: Error) => void) => {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // The raw list keeps duplicates, order and case; Host stays the one the client signed.
        headers: req.rawHeaders,
        agent,
      },
      answer,
    );
    out.on("error", fail);
    req.pipe(out);
  };

  const server: Server = createServer((req, res) => {
    // A killed client resets its connection mid-request; that is what the test does, not a failure.
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    const url = new URL(req.url ?? "/", "http://proxy.invalid");
    const request: ProxiedRequest = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams };
    seen.push(`${request.method} ${req.url}`);
    const index = holds.findIndex((h) => h.match(request));
    const hold = index >= 0 ? holds.splice(index, 1)[0] : undefined;
    const failed = (err: Error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${err.message}`);
    };
    if (!hold) {
      forward(
        req,
        (answer) => {
          answer.on("error", () => res.destroy());
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
          answer.pipe(res);
        },
        failed,
      );
      return;
    }
    const heldRequest: HeldRequest = { request, drop: () => req.socket.destroy() };
    held.push(heldRequest);
    if (!hold.reachServer) {
      hold.resolve(heldRequest);
      return;
    }
    // MinIO has done it once its whole answer is in; the answer goes nowhere.
    forward(
      req,
      (answer) => {
        answer.on("error", () => undefined);
        answer.resume();
        answer.on("end", () => hold.resolve(heldRequest));
      },
      failed,
    );
  });
  // A killed client resets its connections; that is expected here, not an error of the proxy.
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    holdNext(match, options = {}) {
      return new Promise<HeldRequest>((resolve) =>
        holds.push({ match, reachServer: options.reachServer ?? false, resolve }),
      );
    },
    cancelHolds() {
      holds.length = 0;
    },
    async close() {
      for (const h of held) h.drop();
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Matchers for the requests the providers make, by what they do. */
export const requests = {
  /** An S3 call on a bucket with a sub-resource, e.g. `("DELETE", "workflow-artifacts", "policy")`. */
  bucketSubresource:
    (method: string, bucket: string, subresource: string): RequestMatcher =>
    (r) =>
      r.method === method && r.path === `/${bucket}` && r.query.has(subresource),
  /** The removal of a bucket itself (DELETE /bucket, no query), after it was emptied. */
  bucketRemoval:
    (bucket: string): RequestMatcher =>
    (r) =>
      r.method === "DELETE" && r.path === `/${bucket}` && [...r.query.keys()].length === 0,
  /** A MinIO admin API call, e.g. `("PUT", "add-user", { accessKey: "upload-api" })`. */
  admin:
    (method: string, operation: string, query: Record<string, string> = {}): RequestMatcher =>
    (r) =>
      r.method === method &&
      r.path === `/minio/admin/v3/${operation}` &&
      Object.entries(query).every(([k, v]) => r.query.get(k) === v),
};
