import { cpus, totalmem } from "node:os";
import { readFileSync } from "node:fs";
import type { BundleSize } from "./build.ts";
import type { Sample } from "./startup.ts";

/**
 * Medians, targets and the tables (terminal and markdown) of `npm run bench:cold`.
 */

export const KB = 1024;

/** Every handler bundle of the deployed build under this. */
export const BUNDLE_TARGET_KB = 300;
/** A cold process's first response under this. */
export const FIRST_REQUEST_TARGET_MS = 100;

export function kb(bytes: number): string {
  return (bytes / KB).toFixed(1);
}

function ms(value: number | null): string {
  return value === null ? "" : value.toFixed(1);
}

/** The median of the defined values; null when there are none. */
function median(values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const MEDIANS = ["boot_ms", "import_ms", "first_ms", "total_ms", "second_ms", "cpu_import_ms", "cpu_first_ms", "wall_ms", "query_ms"] as const;

export type Summary = Record<(typeof MEDIANS)[number], number | null> & {
  config: string;
  runs: number;
  total_min_ms: number;
  total_max_ms: number;
  status: number | null;
  items: number | null;
  queries: number | null;
};

/** Medians per configuration, in the order given. */
export function summarise(samples: Sample[], order: string[]): Summary[] {
  return order.map((config) => {
    const mine = samples.filter((s) => s.config === config);
    const medians = Object.fromEntries(MEDIANS.map((k) => [k, median(mine.map((s) => s[k]))])) as Record<(typeof MEDIANS)[number], number | null>;
    const totals = mine.map((s) => s.total_ms);
    return {
      config,
      runs: mine.length,
      ...medians,
      total_min_ms: Math.min(...totals),
      total_max_ms: Math.max(...totals),
      status: mine[0]?.status ?? null,
      items: mine[0]?.items ?? null,
      queries: mine[0]?.queries ?? null,
    };
  });
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  /** /proc/loadavg and /proc/pressure/cpu ("some", avg60) before and after: the noise on a shared machine. */
  load_before: string;
  load_after: string;
  cpu_pressure_before: string;
  cpu_pressure_after: string;
}

/** The 1, 5 and 15 minute load averages, and CPU pressure over the last minute. */
export function load(): { load: string; pressure: string } {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  const pressure = /some avg10=\S+ avg60=(\S+)/.exec(read("/proc/pressure/cpu"))?.[1];
  return { load: read("/proc/loadavg").split(" ").slice(0, 3).join(" "), pressure: pressure ? `${pressure}%` : "n/a" };
}

export function machine(before: ReturnType<typeof load>, after: ReturnType<typeof load>): Machine {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 1024 ** 3),
    load_before: before.load,
    load_after: after.load,
    cpu_pressure_before: before.pressure,
    cpu_pressure_after: after.pressure,
  };
}

/** A table as aligned text (`md`: GitHub markdown). */
function table(head: string[], rows: string[][], md: boolean): string {
  if (md) return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

const GROUPS = ["zod", "kysely", "@neondatabase/serverless", "pg (with its deps)", "app: core", "app: functions", "app: migrations"];
const GROUP_HEADS = ["zod", "kysely", "neon", "pg+deps", "core", "functions", "migrations", "other"];

/** Handler name from an entry path: `row/list`, `migrations:handler`. */
export function handlerName(entry: string): string {
  const fn = /^packages\/functions\/src\/(.+)\.ts$/.exec(entry);
  return fn ? fn[1]! : entry.replace(/^packages\/(\w+)\/src\/(.+)\.ts$/, "$1:$2");
}

/** One row per handler: sizes of the deployed build, the pg build's size beside, then KB per group. */
export function bundleTable(deployed: BundleSize[], pg: BundleSize[], md: boolean): string {
  const rows = deployed.map((b) => {
    const other = Object.entries(b.groups)
      .filter(([g]) => !GROUPS.includes(g))
      .reduce((sum, [, v]) => sum + v, 0);
    const p = pg.find((x) => x.entry === b.entry);
    return [
      handlerName(b.entry),
      kb(b.bytes),
      kb(b.gzip_bytes),
      p ? kb(p.bytes) : "",
      ...GROUPS.map((g) => (b.groups[g] ? kb(b.groups[g]) : "")),
      kb(other),
      b.bytes < BUNDLE_TARGET_KB * KB ? "PASS" : "MISS",
    ];
  });
  return table(["handler", "KB", "gzip KB", "pg build KB", ...GROUP_HEADS, `< ${BUNDLE_TARGET_KB} KB`], rows, md);
}

/** The largest modules of one bundle: packages whole, app code per file. */
export function modulesTable(bundle: BundleSize, top: number, md: boolean): string {
  const rows = Object.entries(bundle.modules)
    .slice(0, top)
    .map(([m, bytes]) => [m, kb(bytes), `${((bytes / bundle.bytes) * 100).toFixed(1)}%`]);
  return table(["module", "KB", "share"], rows, md);
}

export function coldTable(summaries: Summary[], md: boolean): string {
  const rows = summaries.map((s) => [
    s.config,
    String(s.runs),
    ms(s.boot_ms),
    ms(s.import_ms),
    ms(s.first_ms),
    ms(s.total_ms),
    `${ms(s.total_min_ms)}–${ms(s.total_max_ms)}`,
    ms(s.second_ms),
    ms(s.cpu_import_ms),
    ms(s.cpu_first_ms),
    s.queries === null ? "" : `${s.queries} (${ms(s.query_ms)} ms)`,
    s.status === null ? "" : `${s.status}${s.items !== null ? ` (${s.items} items)` : ""}`,
  ]);
  return table(
    ["configuration", "runs", "node boot", "import", "1st request", "total", "total min–max", "2nd request", "CPU import", "CPU 1st", "queries", "status"],
    rows,
    md,
  );
}
