/**
 * A bucket's lifecycle document as the program means it: built from a few settings, normalised from
 * what minio-js reads back, compared, and turned into what minio-js writes. Pure: no I/O.
 *
 * The document has at most two rules:
 * - `transition`: objects under the prefix and larger than the size threshold move to the tier
 *   after `transitionDays` (0 = at upload); optionally their noncurrent versions too;
 * - `expiration` (only when asked for): objects under the prefix, any size, are deleted after
 *   `expirationDays`; optionally noncurrent versions after `noncurrentExpirationDays`.
 */

export const transitionRuleId = "transition";
export const expirationRuleId = "expiration";

/** The settings a BucketLifecycle takes (after defaults). */
export interface LifecycleSettings {
  bucket: string;
  /** The tier's name: the transition's storage class. */
  tier: string;
  /** Days after creation before an object moves to the tier; 0 means at upload. */
  transitionDays: number;
  /** Only keys under this prefix ("" = every key). */
  prefix: string;
  /** Only objects strictly larger than this many bytes move ("large artifacts"); 0 = any size. */
  minObjectSizeBytes: number;
  /** Delete objects under the prefix after this many days. */
  expirationDays?: number;
  /** Move noncurrent versions (versioned buckets) to the tier this many days after they became noncurrent. */
  noncurrentTransitionDays?: number;
  /** Delete noncurrent versions this many days after they became noncurrent. */
  noncurrentExpirationDays?: number;
}

/** One rule in canonical form: the only form we compare. */
export interface NormalRule {
  id: string;
  enabled: boolean;
  prefix: string;
  minObjectSizeBytes: number;
  transition?: { days: number; storageClass: string };
  noncurrentTransition?: { days: number; storageClass: string };
  expirationDays?: number;
  noncurrentExpirationDays?: number;
  /** Anything else a rule holds (tags, dates, size upper bounds...): kept so foreign rules show as drift. */
  other?: string;
}

/** Rules sorted by id. */
export type NormalDocument = NormalRule[];

/** Drops undefined fields, so built and read-back rules compare equal and state stays tidy. */
function compact(rule: NormalRule): NormalRule {
  return Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as unknown as NormalRule;
}

/** The document a BucketLifecycle's settings mean. */
export function buildDocument(s: LifecycleSettings): NormalDocument {
  const rules: NormalRule[] = [
    compact({
      id: transitionRuleId,
      enabled: true,
      prefix: s.prefix,
      minObjectSizeBytes: s.minObjectSizeBytes,
      transition: { days: s.transitionDays, storageClass: s.tier },
      noncurrentTransition:
        s.noncurrentTransitionDays === undefined
          ? undefined
          : { days: s.noncurrentTransitionDays, storageClass: s.tier },
    }),
  ];
  if (s.expirationDays !== undefined || s.noncurrentExpirationDays !== undefined) {
    rules.push(
      compact({
        id: expirationRuleId,
        enabled: true,
        prefix: s.prefix,
        minObjectSizeBytes: 0,
        expirationDays: s.expirationDays,
        noncurrentExpirationDays: s.noncurrentExpirationDays,
      }),
    );
  }
  return sortRules(rules);
}

function sortRules(rules: NormalRule[]): NormalRule[] {
  return [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

type Xml = Record<string, unknown>;
const asObject = (v: unknown): Xml => (v && typeof v === "object" && !Array.isArray(v) ? (v as Xml) : {});
/** XML text comes back from fast-xml-parser as a number when it looks like one ("007" -> 7). */
const asText = (v: unknown): string => (v === undefined || v === null ? "" : String(v));
/** A missing number is 0: MinIO omits `<Days>0</Days>` (Go `omitempty`). */
const asNumber = (v: unknown): number => (v === undefined || v === null || v === "" ? 0 : Number(v));

// An array, not a Set: Pulumi's closure serializer turns a captured Set into a plain object.
const knownRuleKeys = [
  "ID",
  "Status",
  "Prefix",
  "Filter",
  "Transition",
  "NoncurrentVersionTransition",
  "Expiration",
  "NoncurrentVersionExpiration",
];

/**
 * The canonical form of what minio-js `getBucketLifecycle` returns (or null when the bucket has none).
 * minio-js 8.0.7 returns a single rule as an object, not an array; empty elements as "".
 */
export function normaliseDocument(raw: unknown): NormalDocument {
  const ruleField = asObject(raw).Rule;
  const rawRules = ruleField === undefined ? [] : Array.isArray(ruleField) ? ruleField : [ruleField];
  return sortRules(rawRules.map((r) => normaliseRule(asObject(r))));
}

function normaliseRule(r: Xml): NormalRule {
  const filter = asObject(r.Filter);
  const and = asObject(filter.And);
  const other: Xml = {};
  for (const [key, value] of Object.entries(r)) if (!knownRuleKeys.includes(key)) other[key] = value;
  for (const key of ["Tag", "ObjectSizeLessThan"]) {
    if (filter[key] !== undefined) other[`Filter.${key}`] = filter[key];
    if (and[key] !== undefined) other[`Filter.And.${key}`] = and[key];
  }
  const transition = r.Transition === undefined ? undefined : asObject(r.Transition);
  if (transition?.Date !== undefined) other["Transition.Date"] = transition.Date;
  const expiration = r.Expiration === undefined ? undefined : asObject(r.Expiration);
  for (const key of ["Date", "ExpiredObjectDeleteMarker", "ExpiredObjectAllVersions"]) {
    if (expiration?.[key] !== undefined) other[`Expiration.${key}`] = expiration[key];
  }
  const nonTransition =
    r.NoncurrentVersionTransition === undefined ? undefined : asObject(r.NoncurrentVersionTransition);
  const nonExpiration =
    r.NoncurrentVersionExpiration === undefined ? undefined : asObject(r.NoncurrentVersionExpiration);
  for (const key of ["NewerNoncurrentVersions"]) {
    if (nonTransition?.[key] !== undefined) other[`NoncurrentVersionTransition.${key}`] = nonTransition[key];
    if (nonExpiration?.[key] !== undefined) other[`NoncurrentVersionExpiration.${key}`] = nonExpiration[key];
  }
  return compact({
    id: asText(r.ID),
    enabled: asText(r.Status) !== "Disabled",
    // The legacy rule-level <Prefix> and the filter forms all mean the same thing.
    prefix: asText(and.Prefix ?? filter.Prefix ?? r.Prefix),
    minObjectSizeBytes: asNumber(and.ObjectSizeGreaterThan ?? filter.ObjectSizeGreaterThan),
    transition: transition && {
      days: asNumber(transition.Days),
      storageClass: asText(transition.StorageClass),
    },
    noncurrentTransition: nonTransition && {
      days: asNumber(nonTransition.NoncurrentDays),
      storageClass: asText(nonTransition.StorageClass),
    },
    expirationDays: expiration && expiration.Days !== undefined ? asNumber(expiration.Days) : undefined,
    noncurrentExpirationDays: nonExpiration && asNumber(nonExpiration.NoncurrentDays),
    other: Object.keys(other).length > 0 ? JSON.stringify(other, Object.keys(other).sort()) : undefined,
  });
}

/** Canonical JSON: key order never makes two equal documents differ. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Xml)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function documentsEqual(a: NormalDocument, b: NormalDocument): boolean {
  return canonical(sortRules(a)) === canonical(sortRules(b));
}

/**
 * The XML shape minio-js `setBucketLifecycle` writes (element order kept). MinIO accepts one filter
 * predicate directly in <Filter>; two (prefix and size) must sit inside <And>.
 */
export function toMinioLifecycle(doc: NormalDocument): { Rule: Xml[] } {
  return {
    Rule: doc.map((rule) => {
      const predicates: Xml = {};
      if (rule.prefix) predicates.Prefix = rule.prefix;
      if (rule.minObjectSizeBytes > 0) predicates.ObjectSizeGreaterThan = rule.minObjectSizeBytes;
      const count = Object.keys(predicates).length;
      const xml: Xml = {
        ID: rule.id,
        Status: rule.enabled ? "Enabled" : "Disabled",
        Filter: count === 0 ? { Prefix: "" } : count === 1 ? predicates : { And: predicates },
      };
      if (rule.expirationDays !== undefined) xml.Expiration = { Days: rule.expirationDays };
      if (rule.transition) xml.Transition = { Days: rule.transition.days, StorageClass: rule.transition.storageClass };
      if (rule.noncurrentExpirationDays !== undefined) {
        xml.NoncurrentVersionExpiration = { NoncurrentDays: rule.noncurrentExpirationDays };
      }
      if (rule.noncurrentTransition) {
        xml.NoncurrentVersionTransition = {
          NoncurrentDays: rule.noncurrentTransition.days,
          StorageClass: rule.noncurrentTransition.storageClass,
        };
      }
      return xml;
    }),
  };
}

export const maxPrefixLength = 1024;

/** Why the settings are wrong, as `{property, reason}` naming the bucket and the rule; empty when fine. */
export function settingsProblems(s: Partial<LifecycleSettings>): { property: string; reason: string }[] {
  const problems: { property: string; reason: string }[] = [];
  const where = (rule: string) => `bucket "${s.bucket}", rule "${rule}"`;
  const days = (property: keyof LifecycleSettings, rule: string, min: number) => {
    const value = s[property];
    if (value === undefined) return;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      problems.push({ property, reason: `${where(rule)}: ${property} must be an integer >= ${min}, got ${value}` });
    }
  };
  days("transitionDays", transitionRuleId, 0);
  days("noncurrentTransitionDays", transitionRuleId, 0);
  days("expirationDays", expirationRuleId, 1);
  days("noncurrentExpirationDays", expirationRuleId, 1);
  const size = s.minObjectSizeBytes;
  if (size !== undefined && (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)) {
    problems.push({
      property: "minObjectSizeBytes",
      reason: `${where(transitionRuleId)}: filter minObjectSizeBytes must be a whole number of bytes >= 0, got ${size}`,
    });
  }
  if (s.prefix !== undefined && (typeof s.prefix !== "string" || s.prefix.length > maxPrefixLength)) {
    problems.push({
      property: "prefix",
      reason: `${where(transitionRuleId)}: filter prefix must be a string of at most ${maxPrefixLength} characters`,
    });
  }
  return problems;
}
