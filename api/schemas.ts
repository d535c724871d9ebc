// TypeBox schemas shared by several routes (request parts and response bodies). Responses are
// snake_case like the seed's `file_path` / `download_url`, so one convention holds everywhere.
import { Type } from "typebox";

export const ExpiresIn = Type.Integer({
  minimum: 1,
  description:
    "Lifetime of the presigned link in seconds (default PRESIGN_DEFAULT_SECONDS, at most PRESIGN_MAX_SECONDS)",
});

export const ExpiresQuery = Type.Object({ expires_in: Type.Optional(ExpiresIn) }, { additionalProperties: false });

const Link = {
  download_url: Type.String({ description: "Presigned GET on the public MinIO endpoint" }),
  expires_in: Type.Integer(),
  expires_at: Type.String({ format: "date-time" }),
};

export const UploadResult = Type.Object({
  file_path: Type.String({ description: "Object key, uploads/<yyyy>/<mm>/<dd>/<uuid>/<safe-name>" }),
  bucket: Type.String(),
  filename: Type.String({ description: "The name the client sent" }),
  safe_name: Type.String({ description: "The sanitised name used in the key and for downloads" }),
  size: Type.Integer(),
  content_type: Type.String(),
  etag: Type.String(),
  ...Link,
});

export const StoredArtifact = Type.Object({
  name: Type.String(),
  file_path: Type.String(),
  size: Type.Integer(),
  content_type: Type.String(),
  etag: Type.String(),
  ...Link,
});

export const ListedArtifact = Type.Object({
  name: Type.String(),
  file_path: Type.String(),
  size: Type.Integer(),
  content_type: Type.String(),
  etag: Type.String(),
  last_modified: Type.String({ format: "date-time" }),
  storage_class: Type.String({ description: "STANDARD, or the tier name once MinIO has moved it to the cold tier" }),
  download_url: Type.String(),
});

/** OpenAPI-only description of a multipart body (the body itself is streamed, not validated). */
export function multipartBody(
  properties: Record<string, { description: string; binary: boolean }>,
  required: string[],
) {
  return {
    type: "object",
    required,
    properties: Object.fromEntries(
      Object.entries(properties).map(([name, p]) => [
        name,
        p.binary
          ? { type: "string", format: "binary", description: p.description }
          : { type: "string", description: p.description },
      ]),
    ),
  };
}
