import { EXECUTIONS_PREFIX, UPLOADS_PREFIX } from "../rules/object-keys";

/** The S3 policy document (IAM JSON) MinIO evaluates for a user. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: string[];
    Condition?: Record<string, Record<string, string[]>>;
  }[];
}

/** Where the API may write and read: one key prefix in each of its buckets. */
export interface ApiPrefixes {
  uploadsBucket: string;
  artifactsBucket: string;
  /** Default: the API's own, `uploads/`. */
  uploadsPrefix?: string;
  /** Default: the API's own, `executions/`. */
  artifactsPrefix?: string;
}

/**
 * Exactly what the API does, nothing more: put, get (and HEAD) objects under its two prefixes, list
 * only those prefixes, and find and abort its own multipart uploads. No delete, no bucket or policy
 * administration, no other bucket. ListBucket with a prefix condition also covers the API's readiness
 * check, which lists its prefix rather than HEADing the bucket (HEAD carries no prefix).
 */
export function apiAccessPolicy(p: ApiPrefixes): PolicyDocument {
  const scopes = [
    { bucket: p.uploadsBucket, prefix: p.uploadsPrefix ?? UPLOADS_PREFIX },
    { bucket: p.artifactsBucket, prefix: p.artifactsPrefix ?? EXECUTIONS_PREFIX },
  ];
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadWriteOwnPrefixes",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: scopes.map((s) => `arn:aws:s3:::${s.bucket}/${s.prefix}*`),
      },
      ...scopes.map((s, i) => ({
        Sid: `ListOwnPrefix${i}`,
        Effect: "Allow" as const,
        Action: ["s3:ListBucket"],
        Resource: [`arn:aws:s3:::${s.bucket}`],
        Condition: { StringLike: { "s3:prefix": [`${s.prefix}*`] } },
      })),
      {
        Sid: "FindOwnMultipartUploads",
        Effect: "Allow",
        Action: ["s3:ListBucketMultipartUploads"],
        Resource: scopes.map((s) => `arn:aws:s3:::${s.bucket}`),
      },
    ],
  };
}
