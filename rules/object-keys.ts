// The key prefixes the API writes under, one per bucket. The API builds its keys from them and the
// program scopes the API's MinIO policy to exactly them (components/api-access-policy.ts), so they
// have one owner: this file.
export const UPLOADS_PREFIX = "uploads/";
export const EXECUTIONS_PREFIX = "executions/";
