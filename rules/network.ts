// Network rules shared by the Pulumi program (config.ts checks the stack's config with them before
// anything is created) and, later, the API: IPv4 CIDRs and the endpoint URLs of MinIO. Each function
// returns why a value is refused, or undefined when it is fine. The reasons never repeat the value,
// so they can be shown for values that hold secrets. No side effects: every layer may import this file.

const CIDR_SHAPE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
/** A decimal without leading zeros: "010" is octal to some parsers and refused by Go's (Kubernetes). */
const DECIMAL = /^(0|[1-9]\d*)$/;

/** The CIDR's network address and prefix length, when it is written a.b.c.d/n with numbers in range. */
function parseCidr(text: string): { octets: number[]; prefix: number } | undefined {
  const m = CIDR_SHAPE.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1, 6) as string[];
  if (!parts.every((p) => DECIMAL.test(p))) return undefined;
  const numbers = parts.map(Number);
  return { octets: numbers.slice(0, 4), prefix: numbers[4] as number };
}

/** Why `text` is not an IPv4 CIDR in network form (e.g. 10.0.0.0/8), or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const parsed = parseCidr(text);
  if (!parsed) return "it is not written a.b.c.d/n (decimal numbers, no leading zeros)";
  const { octets, prefix } = parsed;
  const tooLarge = octets.find((o) => o > 255);
  if (tooLarge !== undefined) return `octet ${tooLarge} is above 255`;
  if (prefix > 32) return `prefix /${prefix} is longer than 32 bits`;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = 32 - prefix;
  const network = address - (address % 2 ** hostBits);
  if (network !== address) {
    const shown = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
    return `host bits are set beyond the /${prefix} prefix (the network is ${shown}/${prefix})`;
  }
  return undefined;
}

/** Whether `text` is a valid CIDR that admits every address (0.0.0.0/0): allowed, but worth a warning. */
export function isWideOpenCidr(text: string): boolean {
  return cidrProblem(text) === undefined && parseCidr(text)?.prefix === 0;
}

export const ENDPOINT_URL_FORMAT = "an http(s) URL with a host and optional port, no path (e.g. http://127.0.0.1:9000)";

/**
 * Why `text` is not a usable endpoint of a MinIO (scheme://host[:port], nothing else), or undefined
 * when it is one. Credentials in the URL (user:password@host) are refused: they would end up in
 * logs, state and presigned links; MinIO's keys are configured apart.
 */
export function endpointUrlProblem(text: string): string | undefined {
  if (/\s/.test(text)) return `it must be ${ENDPOINT_URL_FORMAT}, without whitespace`;
  const scheme = /^https?:\/\//.exec(text);
  if (!scheme) return `it must be ${ENDPOINT_URL_FORMAT}`;
  const rest = text.slice(scheme[0].length);
  // No "@" has a place in scheme://host[:port]: whatever precedes one is user information.
  if (rest.includes("@")) {
    return "it must not hold credentials (user:password@host); give MinIO's keys in their own settings";
  }
  if (/[/?#]/.test(rest)) return `it must have no path, query or fragment: ${ENDPOINT_URL_FORMAT}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `it must be ${ENDPOINT_URL_FORMAT}`;
  }
  if (url.hostname === "") return `it must be ${ENDPOINT_URL_FORMAT}`;
  return undefined;
}

/**
 * Why a text is not a browser origin, or undefined: `scheme://host[:port]` written as a browser
 * sends it in `Origin` (lowercase host, no default port, no trailing slash), since CORS compares
 * the two as text. One rule for the stack's `corsAllowedOrigins` and the API's CORS_ALLOWED_ORIGINS.
 */
export function originProblem(text: string): string | undefined {
  const problem = endpointUrlProblem(text);
  if (problem) return problem;
  const origin = new URL(text).origin;
  if (origin !== text) return `it must be written as a browser sends it: ${origin}`;
  return undefined;
}

/**
 * The text of a URL fit to show in a message: whatever could be user information (everything up to
 * the last "@") is replaced by `***`, so a password is never repeated.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[\s\S]*@/, "$1***@");
}
