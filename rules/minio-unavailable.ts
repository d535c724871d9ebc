// MinIO's error codes for "I cannot serve this now, but will": a server still starting, a cluster
// below read or write quorum (nodes lost or not all back yet), an overloaded server. The API answers
// them 503 with Retry-After; the providers' admin calls wait them out while a cluster comes up.

export const MINIO_UNAVAILABLE_CODES: readonly string[] = [
  "ServiceUnavailable",
  "SlowDown",
  "SlowDownRead",
  "SlowDownWrite",
  "XMinioServerNotInitialized",
  "XMinioReadQuorum",
  "XMinioWriteQuorum",
  // The admin API's own: its config cannot be read or written with the nodes that answer.
  "XMinioAdminConfigNoQuorum",
];
