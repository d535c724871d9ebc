// Defaults and bounds of the API's settings that the Pulumi program also sets (api/README.md,
// "Configuration"). One owner, so the program's defaults and the API's never drift apart.

/** Uploads one API process streams at once; beyond it, 503 with Retry-After (load shedding). */
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 16;
export const MAX_CONCURRENT_UPLOADS_LIMIT = 1024;

/** Port of the API's metrics listener: apart from the public port, never in the Service clients use. */
export const DEFAULT_METRICS_PORT = 9464;

/** The region MinIO answers for unless told otherwise; presigned links are signed for it. */
export const DEFAULT_REGION = "us-east-1";
export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
