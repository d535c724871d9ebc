// Writes a pull request's view of a stack: `pulumi preview --json`, rendered as a short Markdown
// summary (counts, then each changed resource with the properties that change, old -> new).
// Secrets stay masked: the CLI prints them as "[secret]" unless asked otherwise, and we never ask.
//
// Usage: npm run preview:diff -- --stack NAME [--cwd DIR] [--out FILE]
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { localConfigFile, pulumiEnv } from "./local-stack.mts";

interface PreviewStep {
  op: string;
  urn: string;
  type?: string;
  oldState?: { type?: string; inputs?: Record<string, unknown> };
  newState?: { type?: string; inputs?: Record<string, unknown> };
  diffReasons?: string[];
  detailedDiff?: Record<string, { kind: string }>;
}

export interface PreviewJson {
  steps?: PreviewStep[];
  changeSummary?: Record<string, number>;
  diagnostics?: { severity: string; message: string; urn?: string }[];
}

const maxValueLength = 80;

function show(value: unknown): string {
  if (value === undefined) return "(none)";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const shown = text.length > maxValueLength ? `${text.slice(0, maxValueLength - 1)}…` : text;
  return `\`${shown.replaceAll("`", "'")}\``;
}

/** The top-level value of a diff path such as `spec.replicas` or `tags["a"]`. */
function topLevel(path: string): string {
  return path.split(/[.[]/)[0] ?? path;
}

/**
 * The properties a step changes: the provider's detailed diff when it gives one, else its diff
 * reasons, else (dynamic providers give neither) the top-level inputs whose values differ.
 */
function changedProperties(step: PreviewStep): string[] {
  const detailed = Object.keys(step.detailedDiff ?? {});
  if (detailed.length > 0) return detailed;
  if (step.diffReasons && step.diffReasons.length > 0) return step.diffReasons;
  const before = step.oldState?.inputs ?? {};
  const after = step.newState?.inputs ?? {};
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((key) => key !== "__provider" && JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .sort();
}

/** Renders the preview as Markdown; the same text goes to a PR comment and to a local file. */
export function renderPreviewMarkdown(stack: string, preview: PreviewJson): string {
  const summary = preview.changeSummary ?? {};
  const changed = (preview.steps ?? []).filter((s) => s.op !== "same" && s.op !== "read");
  const lines = [`### Pulumi preview of \`${stack}\``, ""];
  lines.push("| operation | resources |", "| --- | --- |");
  for (const [op, count] of Object.entries(summary).sort()) lines.push(`| ${op} | ${count} |`);
  lines.push("");
  if (changed.length === 0) {
    lines.push("No changes.");
    return `${lines.join("\n")}\n`;
  }
  lines.push("#### Changes", "");
  for (const step of changed) {
    const type = step.newState?.type ?? step.oldState?.type ?? step.type ?? "";
    const name = step.urn.split("::").at(-1);
    lines.push(`- **${step.op}** \`${type}\` **${name}**`);
    const properties = changedProperties(step);
    for (const path of properties) {
      const key = topLevel(path);
      const kind = step.detailedDiff?.[path]?.kind ?? "update";
      const before = step.oldState?.inputs?.[key];
      const after = step.newState?.inputs?.[key];
      lines.push(`  - \`${path}\` (${kind}): ${show(before)} → ${show(after)}`);
    }
  }
  const warnings = (preview.diagnostics ?? []).filter((d) => d.severity === "warning" || d.severity === "error");
  if (warnings.length > 0) {
    lines.push("", "#### Diagnostics", "");
    for (const d of warnings) lines.push(`- ${d.severity}: ${d.message.trim().split("\n")[0]}`);
  }
  return `${lines.join("\n")}\n`;
}

function main(argv: string[]): number {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const stack = value("--stack");
  if (!stack) {
    console.error("usage: npm run preview:diff -- --stack NAME [--cwd DIR] [--out FILE]");
    return 2;
  }
  // The local stack keeps its backend, passphrase and config under .local/ (npm run local).
  const local = stack === "local" && !process.env.PULUMI_BACKEND_URL && existsSync(localConfigFile);
  const args = ["preview", "--json", "--non-interactive", "--stack", stack];
  if (local) args.push("--config-file", localConfigFile);
  let output: string;
  try {
    output = execFileSync("pulumi", args, {
      env: local ? pulumiEnv() : process.env,
      cwd: value("--cwd") ?? process.cwd(),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "inherit"],
    });
  } catch (err) {
    const stdout = (err as { stdout?: string }).stdout ?? "";
    const diagnostics = (JSON.parse(stdout || "{}") as PreviewJson).diagnostics ?? [];
    for (const d of diagnostics) console.error(`${d.severity}: ${d.message.trim()}`);
    console.error(`error: pulumi preview of ${stack} failed`);
    return 1;
  }
  const markdown = renderPreviewMarkdown(stack, JSON.parse(output) as PreviewJson);
  const out = value("--out");
  if (out) writeFileSync(out, markdown);
  else process.stdout.write(markdown);
  return 0;
}

if (process.argv[1] === import.meta.filename) process.exit(main(process.argv.slice(2)));
