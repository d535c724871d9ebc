// Kubernetes' naming rules for what the stack's config names: host names of Ingresses, Secret and
// IngressClass names, label selectors. config.ts checks them before anything is created, so a bad
// value is refused with its key instead of by the API server at apply time (or, for a selector, by
// silently matching nothing). Each function returns why a value is refused, or undefined. No side
// effects.

/** Pods in other namespaces, chosen by labels of both: the shape a NetworkPolicy peer takes. */
export interface NamespacedPods {
  namespaceLabels: Record<string, string>;
  podLabels: Record<string, string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/** Why `text` is not a DNS subdomain (RFC 1123, as Kubernetes names most objects), or undefined. */
export function dnsSubdomainProblem(text: string): string | undefined {
  if (text.length > 253) return "it is longer than 253 characters";
  const labels = text.split(".");
  if (!labels.every((label) => label.length <= 63 && DNS_LABEL.test(label))) {
    return "it must be lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
  }
  return undefined;
}

/** Why `text` is not a host name an Ingress rule can take (a DNS name; not an IP address, no wildcard). */
export function ingressHostProblem(text: string): string | undefined {
  if (text.includes(":")) return "an Ingress host is a DNS name alone: no port, not an IPv6 address";
  if (IPV4.test(text)) return "an Ingress host must be a DNS name, not an IP address";
  const problem = dnsSubdomainProblem(text);
  return problem && `${problem} (a host name such as storage-api.example.com)`;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && dnsSubdomainProblem(prefix)) return `the prefix of "${key}" is not a DNS subdomain`;
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return `"${key}" is not a label key (up to 63 letters, digits, '-', '_', '.', after an optional DNS prefix and '/')`;
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === "" || (value.length <= 63 && LABEL_NAME.test(value))) return undefined;
  return `"${value}" is not a label value (up to 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit)`;
}

export const LABEL_SELECTOR_FORMAT = "comma-separated key=value labels, e.g. kubernetes.io/metadata.name=monitoring";

/**
 * Parses `key=value,key=value` into matchLabels, or says why it cannot. At least one label: an empty
 * selector in a NetworkPolicy peer selects every namespace (or pod), which would widen, not narrow.
 */
export function parseLabelSelector(text: string): { labels: Record<string, string> } | { problem: string } {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").map((p) => p.trim())) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return { problem: `"${pair}" is not key=value; allowed: ${LABEL_SELECTOR_FORMAT}` };
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) return { problem: `${problem}; allowed: ${LABEL_SELECTOR_FORMAT}` };
    if (key in labels) return { problem: `"${key}" is given twice` };
    labels[key] = value;
  }
  return { labels };
}

/**
 * Why `text` is not a port a Service can take as its NodePort, or undefined. Kubernetes' default
 * NodePort range is 30000-32767; a cluster may set another, so any port is taken here and the API
 * server checks it against its own range.
 */
export function nodePortProblem(text: string): string | undefined {
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 1 && n <= 65535
    ? undefined
    : "allowed: a port from 1 to 65535 (usually 30000-32767)";
}
