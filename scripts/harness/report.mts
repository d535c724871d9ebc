// The reports `npm run bench` and `npm run faults` write (BENCHMARKS.md, RELIABILITY.md): one owner
// for the machine's description, the table layout, and writing in the repository's own format.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";

/** Cores, memory, kernel, Node.js and the MinIO build the figures were measured on. */
export function machineDescription(): string {
  const minio = execFileSync("minio", ["--version"], { encoding: "utf8" }).split("\n")[0];
  return `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, ${platform()} ${release()}, Node.js ${process.version}, ${minio}`;
}

/** A Markdown table; a cell's line breaks become `<br>`. */
export function markdownTable(head: string[], rows: string[][]): string {
  const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", "<br>");
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head.map(cell)), line(head.map(() => "---")), ...rows.map((row) => line(row.map(cell)))].join("\n");
}

/** Writes `markdown` to `file`, formatted by the repository's formatter so it is committed as written. */
export function writeReport(file: string, markdown: string): void {
  writeFileSync(file, markdown.endsWith("\n") ? markdown : `${markdown}\n`);
  execFileSync("biome", ["format", "--write", file], { stdio: "ignore" });
}
