/**
 * `npm run db:report -- <report> [--json] [--threshold S] [--queries file.sql]`
 *
 * Runs one database report (the same core code as GET /api/admin/db/{report})
 * against DATABASE_URL (or the embedded database `npm start` uses: stop the
 * server first) and prints it: readable tables on a terminal, the API's JSON
 * with --json. --queries gives missing-indexes the statements of a file
 * (separated by semicolons) instead of pg_stat_statements' top ones.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Database } from "@shop/core/db";
import * as Monitor from "@shop/core/monitor";

const USAGE = `usage: npm run db:report -- <report> [--json] [--threshold S] [--queries file.sql]\nreports: ${Monitor.NAMES.join(", ")}`;

function usage(problem?: string): number {
  process.stderr.write(`${problem ? `${problem}\n` : ""}${USAGE}\n`);
  return 2;
}

/** The statements of a SQL file: split at semicolons ending a line, `--` comments dropped. */
function statementsOf(file: string): string[] {
  const text = readFileSync(file, "utf8").replace(/--.*$/gm, "");
  return text.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean);
}

const UNITS = ["B", "kB", "MB", "GB", "TB"];

function cell(key: string, value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString().replace(/\.\d+Z$/, "Z");
  if (typeof value === "number" && key.endsWith("_bytes")) {
    const unit = Math.min(UNITS.length - 1, Math.floor(Math.log(Math.max(value, 1)) / Math.log(1024)));
    return `${Math.round((value / 1024 ** unit) * 10) / 10} ${UNITS[unit]}`;
  }
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 70 ? `${flat.slice(0, 69)}…` : flat;
}

/** Rows as an aligned text table; a flagged row starts with "!". */
function table(rows: Monitor.Row[]): string {
  if (!rows.length) return "  (none)\n";
  const keys = Object.keys(rows[0]!).filter((k) => k !== "flagged");
  const body = rows.map((r) => [r.flagged ? "!" : "", ...keys.map((k) => cell(k, r[k]))]);
  const head = ["", ...keys];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()}\n`;
  return line(head) + body.map(line).join("");
}

function readable(result: Awaited<ReturnType<typeof Monitor.run>>): string {
  let out = `${result.report}: ${result.description}\n`;
  if (!result.available) {
    return `${out}not available: ${result.reason}\nto enable it:\n${result.enable.map((s) => `  - ${s}\n`).join("")}`;
  }
  out += `thresholds: ${Object.entries(result.thresholds).map(([k, v]) => `${k} ${v}`).join(", ")}\n`;
  for (const [key, value] of Object.entries(result.summary ?? {})) {
    // One level of nesting (the pool's stats) reads better as lines of its own.
    const entries = value && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date) ? Object.entries(value).map(([k, v]) => [`${key}.${k}`, v] as const) : [[key, value] as const];
    for (const [k, v] of entries) out += `${k}: ${cell(k, v)}\n`;
  }
  out += `\n${table(result.rows)}`;
  if (result.by_mean) out += `\nby mean time:\n${table(result.by_mean)}`;
  const flagged = result.rows.filter((r) => r.flagged).length;
  return `${out}\n${flagged} of ${result.rows.length} flagged\n`;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: { json: { type: "boolean", default: false }, threshold: { type: "string" }, queries: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const [name, ...extra] = parsed.positionals;
  if (!name || extra.length) return usage();
  if (!(Monitor.NAMES as string[]).includes(name)) return usage(`unknown report: ${name}`);
  const query = Monitor.Query.safeParse({ threshold: parsed.values.threshold });
  if (!query.success) return usage("--threshold must be a number of seconds > 0");
  try {
    const queries = parsed.values.queries === undefined ? undefined : statementsOf(parsed.values.queries);
    const result = await Monitor.run(name, { ...query.data, ...(queries ? { queries } : {}) });
    process.stdout.write(parsed.values.json ? `${JSON.stringify(result, null, 2)}\n` : readable(result));
    return 0;
  } catch (err) {
    process.stderr.write(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await Database.close();
  }
}

process.exitCode = await main();
