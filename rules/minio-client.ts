// How an endpoint URL becomes the `minio` client's options: one reading for the API's clients and
// the providers' (TLS from the scheme, the scheme's port when none is given). Plain data, so this
// module needs no client library.

export interface MinioClientOptions {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region: string;
}

export function minioClientOptions(
  endpoint: string | URL,
  credentials: { accessKey: string; secretKey: string },
  region: string,
): MinioClientOptions {
  const url = typeof endpoint === "string" ? new URL(endpoint) : endpoint;
  const useSSL = url.protocol === "https:";
  return {
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: credentials.accessKey,
    secretKey: credentials.secretKey,
    region,
  };
}
