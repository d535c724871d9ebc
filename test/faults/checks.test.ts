// The fault suite's rules, on verdicts made by hand: what counts as a failure and what is allowed.
import { describe, expect, it } from "vitest";
import { type Verdict, violations } from "../../faults/checks.mts";

const clean: Verdict = {
  sent: 10,
  acknowledged: 5,
  lost: [],
  late: [{ key: "uploads/a", seconds: 4 }],
  refused: 3,
  otherAnswers: {},
  unanswered: 1,
  reset: 0,
  unansweredErrors: { "upload ECONNREFUSED": 1 },
  cuts: [],
  cutByApi: 0,
  hung: 0,
  visibleAfterRefusal: [],
  orphaned: 1,
  committedUnanswered: 0,
  leftIncomplete: [],
  leftForCleanup: 2,
  mismatched: 0,
  readsDuring: { ok: 1, sent: 1 },
  writesDuring: { ok: 2, sent: 3 },
};

describe("fault suite rules", () => {
  it("a late read, a refusal, an unanswered request and uploads left to the cleanup are no failure", () => {
    expect(violations(clean, [])).toEqual([]);
  });

  it("a lost write, a hang, other bytes, a visible refused save or an upload not aborted each fail", () => {
    const bad = violations(
      {
        ...clean,
        lost: ["uploads/b (not found)"],
        hung: 1,
        mismatched: 1,
        visibleAfterRefusal: ["executions/x/result.json (answered 503)"],
        leftIncomplete: ["uploads/c"],
      },
      [],
    );
    expect(bad).toHaveLength(5);
    expect(bad.join("\n")).toMatch(/1 acknowledged objects lost: uploads\/b/);
  });

  it("the API's answers outside the contract fail unless the fault documents them; MinIO's are reported", () => {
    const v = {
      ...clean,
      otherAnswers: { "500 INTERNAL": 1, "404 OBJECT_NOT_FOUND": 1, "MinIO 400 XMinioBackendDown": 2 },
    };
    expect(violations(v, ["404 OBJECT_NOT_FOUND"])).toEqual(["answers outside the contract: 500 INTERNAL (x1)"]);
  });

  it("a request the living API cut without an answer fails; the same cut by a killed API does not", () => {
    const cut = { ...clean, unanswered: 2, reset: 1, cutByApi: 1 };
    expect(violations(cut, [])).toEqual(["1 requests cut by the API without an answer"]);
    expect(violations(cut, [], false)).toEqual([]);
  });
});
