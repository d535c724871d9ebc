// Multipart form bodies as a browser or curl sends them, for the tests, the benchmark and the fault
// suite: one owner for the boundary and part-header layout the API's parser reads.
import { randomBytes } from "node:crypto";

export interface FormPart {
  /** The form field name, e.g. `file`, `files` or `result`. */
  name: string;
  /** A file part's name, sent as it is between quotes; a text field when absent. */
  filename?: string;
  /** The part's Content-Type header; none when absent. */
  contentType?: string;
  data: Buffer | string;
}

/**
 * A multipart/form-data body holding `parts` in order, byte for byte what they say (no escaping of
 * names), as the chunks to send one after the other: each part's data is one of them, not copied
 * (the benchmark sends 32 bodies of 100 MiB at once). A random boundary unless one is given.
 */
export function multipartChunks(
  parts: FormPart[],
  boundary = `----wss${randomBytes(8).toString("hex")}`,
): { chunks: Buffer[]; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? "" : `; filename="${part.filename}"`;
    const type = part.contentType ? `Content-Type: ${part.contentType}\r\n` : "";
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n${type}\r\n`),
      typeof part.data === "string" ? Buffer.from(part.data) : part.data,
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { chunks, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** multipartChunks as one Buffer. */
export function multipartBody(parts: FormPart[], boundary?: string): { body: Buffer; contentType: string } {
  const { chunks, contentType } = multipartChunks(parts, boundary);
  return { body: Buffer.concat(chunks), contentType };
}

const filePart = (filename: string, data: Buffer): FormPart => ({
  name: "file",
  filename,
  contentType: "application/octet-stream",
  data,
});

/** One binary file part named `file`, as `POST /v1/uploads` takes it. */
export function fileForm(filename: string, data: Buffer): { body: Buffer; contentType: string } {
  return multipartBody([filePart(filename, data)]);
}

/** fileForm as chunks, the data not copied. */
export function fileFormChunks(filename: string, data: Buffer): { chunks: Buffer[]; contentType: string } {
  return multipartChunks([filePart(filename, data)]);
}
