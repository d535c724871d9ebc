// Content-Disposition for presigned downloads (RFC 6266 with the RFC 5987 `filename*` parameter):
// a quoted ASCII fallback for old clients and the exact UTF-8 name for everyone else.

// RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~".
// encodeURIComponent leaves ' ( ) * unescaped, which attr-char does not allow.
export function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Printable ASCII without the quoting characters; anything else becomes `_`. */
export function asciiFallback(value: string): string {
  return value
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]|["\\%]/g, "_");
}

export function contentDisposition(filename: string, type: "attachment" | "inline" = "attachment"): string {
  return `${type}; filename="${asciiFallback(filename)}"; filename*=UTF-8''${encodeRfc5987(filename)}`;
}
