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
 * names), and its Content-Type header. A random boundary unless one is given.
 */
export function multipartBody(
  parts: FormPart[],
  boundary = `----wss${randomBytes(8).toString("hex")}`,
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? "" : `; filename="${part.filename}"`;
    const type = part.contentType ? `Content-Type: ${part.contentType}\r\n` : "";
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n${type}\r\n`),
      Buffer.from(part.data),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** One binary file part named `file`, as `POST /v1/uploads` takes it. */
export function fileForm(filename: string, data: Buffer): { body: Buffer; contentType: string } {
  return multipartBody([{ name: "file", filename, contentType: "application/octet-stream", data }]);
}
