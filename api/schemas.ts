// TypeBox schemas shared by several routes (request parts and response bodies). Responses are
// snake_case like the seed's `file_path` / `download_url`, so one convention holds everywhere.
// Limits that come from the configuration are built into the schemas here, so the OpenAPI document
// states exactly what the server enforces (the contract test fuzzes one against the other).
import { Type } from "typebox";
import type { Config } from "./config";
import { CLIENT_NAME_PATTERN, MAX_CLIENT_NAME_LENGTH } from "./keys";

/** `expires_in`, bounded by the configured maximum (larger values are 400 EXPIRY_TOO_LONG). */
export function expiresIn(presign: Config["presign"]) {
  return Type.Integer({
    minimum: 1,
    maximum: presign.maxSeconds,
    description: `Lifetime of the presigned link in seconds (default ${presign.defaultSeconds}, at most ${presign.maxSeconds})`,
  });
}

export function expiresQuery(presign: Config["presign"]) {
  return Type.Object({ expires_in: Type.Optional(expiresIn(presign)) }, { additionalProperties: false });
}

/** A name a client sends, as the server checks it (keys.ts refusedNameReason). */
export const ClientFileName = Type.String({
  minLength: 1,
  maxLength: MAX_CLIENT_NAME_LENGTH,
  pattern: CLIENT_NAME_PATTERN,
  description: "The file's name: no control characters, no '..' segment; only its last path segment is kept, sanitised",
});

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

/** One part of a multipart body, for the document: a file, several files, or a JSON value. */
export type MultipartPart =
  | { kind: "file"; description: string }
  | { kind: "files"; description: string; maxItems: number }
  | { kind: "json"; description: string };

const binary = (description: string) => ({ type: "string", format: "binary", minLength: 1, description });

/**
 * OpenAPI-only description of a multipart body (the body itself is streamed, not validated by
 * Fastify): the parts, and the extra text fields the route tolerates and ignores (`extraFields`,
 * each at most `fieldSize` bytes). The JSON parts' encoding goes into the document (openapi.ts).
 */
export function multipartBody(
  parts: Record<string, MultipartPart>,
  required: string[],
  extra: { extraFields: number; fieldSize: number },
) {
  const properties = Object.fromEntries(
    Object.entries(parts).map(([name, p]) => {
      if (p.kind === "file") return [name, binary(p.description)];
      if (p.kind === "files") {
        return [
          name,
          { type: "array", items: binary("An output file"), maxItems: p.maxItems, description: p.description },
        ];
      }
      return [name, { type: "object", description: p.description }];
    }),
  );
  const encoding = Object.fromEntries(
    Object.entries(parts)
      .filter(([, p]) => p.kind === "json")
      .map(([name]) => [name, { contentType: "application/json" }]),
  );
  return {
    schema: {
      type: "object",
      required,
      properties,
      additionalProperties: { type: "string", maxLength: extra.fieldSize, description: "Ignored" },
      maxProperties: Object.keys(parts).length + extra.extraFields,
    },
    encoding,
  };
}
