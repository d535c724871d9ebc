import { type MinioConnection, minioClient } from "./minio-connection";

/** One stored version of an object, or a delete marker, as a versioned listing shows it. */
interface StoredVersion {
  name: string;
  versionId?: string;
  deleteMarker: boolean;
  storageClass?: string;
}

async function listVersions(connection: MinioConnection, bucket: string): Promise<StoredVersion[]> {
  const found: StoredVersion[] = [];
  const listing = minioClient(connection).listObjects(bucket, "", true, { IncludeVersion: true });
  for await (const item of listing) {
    const entry = item as typeof item & { isDeleteMarker?: boolean; storageClass?: string };
    if (!entry.name) continue;
    found.push({
      name: entry.name,
      versionId: entry.versionId ?? undefined,
      deleteMarker: entry.isDeleteMarker === true,
      storageClass: entry.storageClass,
    });
  }
  return found;
}

async function listIncompleteUploads(
  connection: MinioConnection,
  bucket: string,
): Promise<{ key: string; uploadId: string }[]> {
  const found: { key: string; uploadId: string }[] = [];
  for await (const upload of minioClient(connection).listIncompleteUploads(bucket, "", true)) {
    found.push({ key: upload.key, uploadId: upload.uploadId });
  }
  return found;
}

/** Removal passes before giving up: two are needed when objects have moved to a tier, see below. */
const maxPasses = 5;

/**
 * Deletes everything a bucket holds: every incomplete multipart upload, then every version and
 * delete marker by version id (so versioned buckets end empty too), pass after pass until the
 * listing is empty. Deleting an object that moved to a tier leaves a "free version" (listed as a
 * delete marker in the tier's storage class) that tells MinIO to delete the remote copy; the next
 * pass removes it, and MinIO deletes the copy on the tier with it.
 */
export async function emptyBucket(connection: MinioConnection, bucket: string): Promise<void> {
  const client = minioClient(connection);
  for (const upload of await listIncompleteUploads(connection, bucket)) {
    await client.abortMultipartUpload(bucket, upload.key, upload.uploadId);
  }
  for (let pass = 0; pass < maxPasses; pass++) {
    const versions = await listVersions(connection, bucket);
    if (versions.length === 0) return;
    for (let i = 0; i < versions.length; i += 1000) {
      const batch = versions.slice(i, i + 1000).map((v) => ({ name: v.name, versionId: v.versionId }));
      // The answer lists only the deletions MinIO refused.
      const refused = (await client.removeObjects(bucket, batch)).flatMap((r) => (r?.Error ? [r.Error] : []));
      const first = refused[0];
      if (first) {
        throw new Error(
          `emptying bucket "${bucket}": ${refused.length} deletion(s) refused, e.g. ${first.Key}: ${first.Code}: ${first.Message}`,
        );
      }
    }
  }
}

/** What a bucket still holds, in words, for an error message: counts and a few examples. */
export async function remainingContents(connection: MinioConnection, bucket: string): Promise<string> {
  const versions = await listVersions(connection, bucket);
  const uploads = await listIncompleteUploads(connection, bucket);
  const markers = versions.filter((v) => v.deleteMarker);
  const objects = versions.filter((v) => !v.deleteMarker);
  const parts: string[] = [];
  const describe = (v: StoredVersion) =>
    `${v.name}${v.versionId && v.versionId !== "null" ? ` (version ${v.versionId})` : ""}` +
    `${v.storageClass && v.storageClass !== "STANDARD" ? ` in storage class ${v.storageClass}` : ""}`;
  if (objects.length > 0)
    parts.push(`${objects.length} object version(s), e.g. ${objects.slice(0, 3).map(describe).join(", ")}`);
  if (markers.length > 0)
    parts.push(`${markers.length} delete marker(s), e.g. ${markers.slice(0, 3).map(describe).join(", ")}`);
  if (uploads.length > 0) parts.push(`${uploads.length} incomplete multipart upload(s), e.g. ${uploads[0]?.key}`);
  return parts.length > 0 ? parts.join("; ") : "nothing a listing shows (MinIO may still be cleaning up)";
}
