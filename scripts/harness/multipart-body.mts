// Multipart form bodies as a browser or curl sends them, for the benchmark and the fault suite: one
// owner for the boundary and part-header layout the API's parser reads.
import { randomBytes } from "node:crypto";

export interface FormPart {
  /** The form field name, e.g. `file`, `files` or `result`. */
  name: string;
  /** A file part's name; a text field when absent. */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body holding `parts` in order, and its Content-Type header. */
export function multipartBody(parts: FormPart[]): { body: Buffer; contentType: string } {
  const boundary = `----wss${randomBytes(8).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? "" : `; filename="${part.filename}"`}`;
    const type = part.contentType ?? (part.filename === undefined ? undefined : "application/octet-stream");
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ""}\r\n`,
      ),
      Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** One file part named `file`, as `POST /v1/uploads` takes it. */
export function fileForm(filename: string, data: Buffer): { body: Buffer; contentType: string } {
  return multipartBody([{ name: "file", filename, data }]);
}
