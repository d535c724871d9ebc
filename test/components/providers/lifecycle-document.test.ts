import { describe, expect, it } from "vitest";
import {
  buildDocument,
  documentsEqual,
  type LifecycleSettings,
  normaliseDocument,
  settingsProblems,
  toMinioLifecycle,
} from "../../../components/providers/lifecycle-document";

const base: LifecycleSettings = {
  bucket: "workflow-artifacts",
  tier: "COLD",
  transitionDays: 30,
  prefix: "runs/",
  minObjectSizeBytes: 10 * 1024 * 1024,
};

describe("building a lifecycle document", () => {
  it("one transition rule by default; an expiration rule only when asked for", () => {
    expect(buildDocument(base)).toEqual([
      {
        id: "transition",
        enabled: true,
        prefix: "runs/",
        minObjectSizeBytes: 10485760,
        transition: { days: 30, storageClass: "COLD" },
      },
    ]);
    const full = buildDocument({
      ...base,
      expirationDays: 365,
      noncurrentTransitionDays: 0,
      noncurrentExpirationDays: 7,
    });
    expect(full.map((r) => r.id)).toEqual(["expiration", "transition"]);
    expect(full[0]).toEqual({
      id: "expiration",
      enabled: true,
      prefix: "runs/",
      minObjectSizeBytes: 0,
      expirationDays: 365,
      noncurrentExpirationDays: 7,
    });
    expect(full[1]?.noncurrentTransition).toEqual({ days: 0, storageClass: "COLD" });
  });

  it("writes one filter predicate directly and two inside <And>, as MinIO demands", () => {
    const filterOf = (s: Partial<LifecycleSettings>) =>
      toMinioLifecycle(buildDocument({ ...base, ...s })).Rule[0]?.Filter;
    expect(filterOf({})).toEqual({ And: { Prefix: "runs/", ObjectSizeGreaterThan: 10485760 } });
    expect(filterOf({ minObjectSizeBytes: 0 })).toEqual({ Prefix: "runs/" });
    expect(filterOf({ prefix: "" })).toEqual({ ObjectSizeGreaterThan: 10485760 });
    expect(filterOf({ prefix: "", minObjectSizeBytes: 0 })).toEqual({ Prefix: "" });
  });

  it("writes the actions with MinIO's element names", () => {
    const [expiration, transition] = toMinioLifecycle(
      buildDocument({ ...base, expirationDays: 90, noncurrentTransitionDays: 1, noncurrentExpirationDays: 2 }),
    ).Rule;
    expect(transition).toMatchObject({
      ID: "transition",
      Status: "Enabled",
      Transition: { Days: 30, StorageClass: "COLD" },
      NoncurrentVersionTransition: { NoncurrentDays: 1, StorageClass: "COLD" },
    });
    expect(expiration).toMatchObject({
      ID: "expiration",
      Expiration: { Days: 90 },
      NoncurrentVersionExpiration: { NoncurrentDays: 2 },
    });
  });
});

describe("normalising what minio-js reads back", () => {
  it("a single rule comes back as an object, Days 0 absent, numbers as numbers: same document", () => {
    const fromMinioJs = {
      Rule: {
        ID: "transition",
        Status: "Enabled",
        Filter: { ObjectSizeGreaterThan: 1024 },
        Transition: { StorageClass: "COLD" },
      },
    };
    expect(normaliseDocument(fromMinioJs)).toEqual(
      buildDocument({ ...base, prefix: "", minObjectSizeBytes: 1024, transitionDays: 0 }),
    );
  });

  it("rules in another order and the legacy rule-level Prefix compare equal", () => {
    const doc = buildDocument({ ...base, expirationDays: 5, minObjectSizeBytes: 0 });
    const read = normaliseDocument({
      Rule: [
        { ID: "transition", Status: "Enabled", Prefix: "runs/", Transition: { Days: 30, StorageClass: "COLD" } },
        { ID: "expiration", Status: "Enabled", Filter: { Prefix: "runs/" }, Expiration: { Days: 5 } },
      ],
    });
    expect(documentsEqual(read, doc)).toBe(true);
    expect(documentsEqual([...read].reverse(), doc)).toBe(true);
  });

  it("a prefix that looks like a number stays a string; no document is no rules", () => {
    const read = normaliseDocument({
      Rule: { ID: "transition", Filter: { Prefix: 2024 }, Transition: { Days: 1, StorageClass: "COLD" } },
    });
    expect(read[0]?.prefix).toBe("2024");
    expect(normaliseDocument(null)).toEqual([]);
    expect(normaliseDocument("")).toEqual([]);
  });

  it("what we do not model (tags, dates, a disabled rule) shows as a difference", () => {
    const ours = buildDocument({ ...base, prefix: "", minObjectSizeBytes: 0 });
    const tagged = normaliseDocument({
      Rule: {
        ID: "transition",
        Status: "Enabled",
        Filter: { Tag: { Key: "k", Value: "v" } },
        Transition: { Days: 30, StorageClass: "COLD" },
      },
    });
    expect(tagged[0]?.other).toContain("Filter.Tag");
    expect(documentsEqual(tagged, ours)).toBe(false);
    const disabled = normaliseDocument({
      Rule: {
        ID: "transition",
        Status: "Disabled",
        Filter: { Prefix: "" },
        Transition: { Days: 30, StorageClass: "COLD" },
      },
    });
    expect(documentsEqual(disabled, ours)).toBe(false);
  });

  it("a changed day count, tier or threshold is a difference", () => {
    const doc = buildDocument(base);
    expect(documentsEqual(doc, buildDocument({ ...base, transitionDays: 31 }))).toBe(false);
    expect(documentsEqual(doc, buildDocument({ ...base, tier: "COLDER" }))).toBe(false);
    expect(documentsEqual(doc, buildDocument({ ...base, minObjectSizeBytes: 1 }))).toBe(false);
    expect(documentsEqual(doc, buildDocument({ ...base }))).toBe(true);
  });
});

describe("settings problems name the bucket and the rule", () => {
  it("accepts good settings", () => {
    expect(settingsProblems({ ...base, transitionDays: 0, expirationDays: 1, noncurrentTransitionDays: 0 })).toEqual(
      [],
    );
  });

  it("refuses bad days, a bad size filter and a bad prefix", () => {
    const problems = settingsProblems({
      ...base,
      transitionDays: -1,
      expirationDays: 0,
      noncurrentExpirationDays: 1.5,
      minObjectSizeBytes: -5,
      prefix: "x".repeat(1025),
    });
    expect(problems.map((p) => p.property)).toEqual([
      "transitionDays",
      "expirationDays",
      "noncurrentExpirationDays",
      "minObjectSizeBytes",
      "prefix",
    ]);
    expect(problems[0]?.reason).toBe(
      'bucket "workflow-artifacts", rule "transition": transitionDays must be an integer >= 0, got -1',
    );
    expect(problems[1]?.reason).toMatch(/^bucket "workflow-artifacts", rule "expiration": expirationDays must be/);
  });
});
