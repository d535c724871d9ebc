// A minimal client of the cluster's API server for our own small controllers and waits: JSON over
// HTTPS with the admin client certificate. (kubectl would cost a process per call.)
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { NODE_IP, PORTS } from "./layout.mts";

export interface KubeCredentials {
  ca: string;
  cert: string;
  key: string;
}

export class KubeApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function kubeApi(credentials: KubeCredentials) {
  const tls = {
    ca: readFileSync(credentials.ca),
    cert: readFileSync(credentials.cert),
    key: readFileSync(credentials.key),
  };
  return function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: NODE_IP,
          port: PORTS.apiServer,
          method,
          path,
          ...tls,
          timeout: 10_000,
          headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            // Health endpoints answer plain text ("ok"); every other answer is JSON.
            const json = (res.headers["content-type"] ?? "").includes("json");
            if (status >= 200 && status < 300) resolve((json && text ? JSON.parse(text) : {}) as T);
            else reject(new KubeApiError(status, `${method} ${path}: ${status} ${text.slice(0, 300)}`));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  };
}

export type KubeApi = ReturnType<typeof kubeApi>;
