import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// The PR preview runs the pull request's own code with the stack's secrets (README, "Preview diffs
// in pull requests"). These tests read the workflow as data and pin down where the secrets may go.

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const file = join(__dirname, "..", "..", ".github", "workflows", "pulumi-preview.yml");
const text = fs.readFileSync(file, "utf8");
const workflow = parse(text) as Workflow;
const jobs = Object.entries(workflow.jobs);
const previewJob = workflow.jobs.preview as Job;
const previewStep = previewJob.steps.find((s) => s.name === "Preview") as Step;

/** Any expression that reads the secrets context: `secrets.X`, `secrets['X']`, `toJSON(secrets)`. */
const readsSecrets = /\$\{\{[^}]*\bsecrets\b/;

/** Where in the workflow each string that reads a secret sits, as a path such as `jobs.preview.env.X`. */
function secretReferences(node: unknown, path: string[] = []): string[] {
  if (typeof node === "string") return readsSecrets.test(node) ? [path.join(".")] : [];
  if (Array.isArray(node)) return node.flatMap((child, i) => secretReferences(child, [...path, String(i)]));
  if (node && typeof node === "object") {
    return Object.entries(node).flatMap(([key, child]) => secretReferences(child, [...path, key]));
  }
  return [];
}

/** A job's `if` without the optional `${{ }}` around it. */
const condition = (job: Job) => (job.if ?? "").replace(/^\$\{\{\s*|\s*\}\}$/g, "");

describe("the pulumi-preview workflow", () => {
  it("runs on pull_request, never pull_request_target (which would hand a fork's code the secrets)", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    expect(text).not.toMatch(/^\s*pull_request_target\s*:/m);
  });

  it("every job runs only for pull requests from this repository's own branches", () => {
    for (const [name, job] of jobs) {
      expect(condition(job), name).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    }
  });

  it("puts no secret in the workflow's or any job's env, where install and build steps would see it", () => {
    expect(secretReferences(workflow.env)).toEqual([]);
    for (const [name, job] of jobs) expect(secretReferences(job.env), name).toEqual([]);
  });

  it("hands the secrets to the Preview step's env and nowhere else", () => {
    const index = previewJob.steps.indexOf(previewStep);
    const inPreviewEnv = (key: string) => `jobs.preview.steps.${index}.env.${key}`;
    expect(secretReferences(workflow)).toEqual(
      ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG_CONTENT"].map(inPreviewEnv),
    );
    // Only through env: an expression inside `run` would be pasted into the script text itself.
    expect(previewStep.run).not.toMatch(/\$\{\{/);
  });

  it("checks out without leaving the token in .git/config for the pull request's scripts", () => {
    const checkouts = jobs.flatMap(([, job]) => job.steps.filter((s) => s.uses?.startsWith("actions/checkout@")));
    expect(checkouts.length).toBeGreaterThan(0);
    for (const step of checkouts) expect(step.with?.["persist-credentials"]).toBe(false);
  });

  it("installs dependencies without running their install scripts", () => {
    const installs = previewJob.steps.filter((s) => /\bnpm (ci|install|i)\b/.test(s.run ?? ""));
    expect(installs.map((s) => s.run)).toEqual(["npm ci --ignore-scripts"]);
  });

  it("grants no permission by default; the preview may only read, the comment job may only write comments", () => {
    expect(workflow.permissions).toEqual({});
    expect(previewJob.permissions).toEqual({ contents: "read" });
    expect(workflow.jobs.comment?.permissions).toEqual({ "pull-requests": "write" });
  });

  it("the job that may write comments runs none of the pull request's code", () => {
    const comment = workflow.jobs.comment as Job;
    expect(comment.steps.filter((s) => s.run !== undefined || s.uses?.startsWith("actions/checkout@"))).toEqual([]);
  });

  it("keeps one preview run per pull request, a newer push cancelling the older one", () => {
    expect(workflow.concurrency).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JavaScript placeholder
      group: "pulumi-preview-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });
});

describe("the Preview step's kubeconfig", () => {
  // Runs the step's script as GitHub does (bash -e) with a stand-in for npm that records what the
  // preview would see: the kubeconfig lives in RUNNER_TEMP, private, only while the preview runs.
  function runPreviewStep(npmExit: number) {
    const dir = fs.mkdtempSync(join(tmpdir(), "wss-preview-step-"));
    const bin = join(dir, "bin");
    const runnerTemp = join(dir, "runner-temp");
    const home = join(dir, "home");
    for (const d of [bin, runnerTemp, home]) fs.mkdirSync(d);
    const seen = join(dir, "seen.json");
    fs.writeFileSync(
      join(bin, "npm"),
      `#!/usr/bin/env bash
node -e 'const fs = require("fs"); const k = process.env.KUBECONFIG;
fs.writeFileSync(process.argv[1], JSON.stringify({ kubeconfig: k, mode: fs.statSync(k).mode & 0o777,
  text: fs.readFileSync(k, "utf8"), contentVar: process.env.KUBECONFIG_CONTENT ?? null, args: process.argv.slice(2) }))' \\
  ${JSON.stringify(seen)} "$@"
exit ${npmExit}
`,
      { mode: 0o755 },
    );
    let exitCode = 0;
    try {
      execFileSync("bash", ["-e", "-c", previewStep.run ?? ""], {
        cwd: dir,
        stdio: "pipe",
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          HOME: home,
          RUNNER_TEMP: runnerTemp,
          STACK: "dev",
          KUBECONFIG_CONTENT: "apiVersion: v1\nkind: Config\n",
        },
      });
    } catch (err) {
      exitCode = (err as { status: number }).status;
    }
    const result = {
      exitCode,
      seen: JSON.parse(fs.readFileSync(seen, "utf8")),
      runnerTempAfter: fs.readdirSync(runnerTemp),
      homeAfter: fs.readdirSync(home),
    };
    fs.rmSync(dir, { recursive: true, force: true });
    return { ...result, runnerTemp };
  }

  it("is a mode-600 file in RUNNER_TEMP while the preview runs, and gone afterwards; never in ~/.kube", () => {
    const { exitCode, seen, runnerTemp, runnerTempAfter, homeAfter } = runPreviewStep(0);
    expect(exitCode).toBe(0);
    expect(seen.kubeconfig.startsWith(`${runnerTemp}/`)).toBe(true);
    expect(seen.mode).toBe(0o600);
    expect(seen.text).toBe("apiVersion: v1\nkind: Config\n");
    expect(seen.args).toEqual(["run", "preview:diff", "--", "--stack", "dev", "--out", "preview.md"]);
    expect(runnerTempAfter).toEqual([]);
    expect(homeAfter).toEqual([]);
  });

  it("is removed when the preview fails too, and the step fails with it", () => {
    const { exitCode, runnerTempAfter } = runPreviewStep(3);
    expect(exitCode).toBe(3);
    expect(runnerTempAfter).toEqual([]);
  });

  it("reaches the program as a file only: the secret's text is not in the preview's environment", () => {
    expect(runPreviewStep(0).seen.contentVar).toBeNull();
  });

  it("has a cleanup step that runs whatever happened before it", () => {
    const after = previewJob.steps.slice(previewJob.steps.indexOf(previewStep) + 1);
    expect(after.some((s) => s.if === "always()" && /rm -f "\$RUNNER_TEMP\/kubeconfig"/.test(s.run ?? ""))).toBe(true);
  });
});

describe("the comment job", () => {
  // Runs the github-script body against a stand-in GitHub API and the artifacts as
  // download-artifact lays them out (previews/<artifact name>/preview.md).
  const script = String(
    workflow.jobs.comment?.steps.find((s) => s.uses?.startsWith("actions/github-script@"))?.with?.script,
  );
  type Comment = { id: number; body: string };

  async function post(previews: Record<string, string>, comments: Comment[]) {
    const dir = fs.mkdtempSync(join(tmpdir(), "wss-preview-comment-"));
    for (const [stack, markdown] of Object.entries(previews)) {
      fs.mkdirSync(join(dir, "previews", `pulumi-preview-${stack}`), { recursive: true });
      fs.writeFileSync(join(dir, "previews", `pulumi-preview-${stack}`, "preview.md"), markdown);
    }
    // The script's paths are relative to the job's working directory: here, dir.
    const at = (p: string) => resolve(dir, p);
    const fsInDir = {
      existsSync: (p: string) => fs.existsSync(at(p)),
      readdirSync: (p: string) => fs.readdirSync(at(p)),
      readFileSync: (p: string, encoding: BufferEncoding) => fs.readFileSync(at(p), encoding),
    };
    const calls: { op: string; comment_id?: number; body: string }[] = [];
    const listComments = () => {};
    const github = {
      paginate: async (fn: unknown) => (fn === listComments ? comments : []),
      rest: {
        issues: {
          listComments,
          updateComment: async (a: { comment_id: number; body: string }) =>
            calls.push({ op: "update", comment_id: a.comment_id, body: a.body }),
          createComment: async (a: { body: string }) => calls.push({ op: "create", body: a.body }),
        },
      },
    };
    const context = { repo: { owner: "o", repo: "r" }, payload: { pull_request: { number: 7 } } };
    const requireShim = (name: string) => (name === "fs" ? fsInDir : name === "path" ? { join } : undefined);
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
    await new AsyncFunction("require", "github", "context", script)(requireShim, github, context);
    fs.rmSync(dir, { recursive: true, force: true });
    return calls;
  }

  it("creates one comment per stack, marked with the stack's name", async () => {
    const calls = await post({ dev: "### dev\n", prod: "### prod\n" }, []);
    expect(calls).toEqual([
      { op: "create", body: "<!-- pulumi-preview:dev -->\n### dev\n" },
      { op: "create", body: "<!-- pulumi-preview:prod -->\n### prod\n" },
    ]);
  });

  it("updates the stack's own comment in place on the next push, leaving other comments alone", async () => {
    const comments = [
      { id: 1, body: "looks good" },
      { id: 2, body: "<!-- pulumi-preview:prod -->\nold" },
      { id: 3, body: "<!-- pulumi-preview:dev -->\nold" },
    ];
    expect(await post({ dev: "new\n" }, comments)).toEqual([
      { op: "update", comment_id: 3, body: "<!-- pulumi-preview:dev -->\nnew\n" },
    ]);
  });

  it("posts nothing when no preview succeeded", async () => {
    expect(await post({}, [])).toEqual([]);
  });
});
