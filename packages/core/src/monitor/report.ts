import { sql, type RawBuilder } from "kysely";
import { Database } from "../db/index.ts";

/** What a report may be asked for. */
export interface Options {
  /** activity: seconds a query must have run to be listed (default 1). */
  threshold?: number;
  /** missing-indexes: the statements to advise on, instead of pg_stat_statements' top ones. */
  queries?: string[];
}

/** One finding; `flagged` when it crosses the report's thresholds. */
export type Row = Record<string, unknown> & { flagged: boolean };

/** A report: its thresholds and rows, or why it cannot run here and how to make it run. */
export type Result =
  | {
      available: true;
      description: string;
      thresholds: Record<string, number | string>;
      summary?: Record<string, unknown>;
      rows: Row[];
      /** slow-queries: the same statements ranked by mean time. */
      by_mean?: Row[];
    }
  | { available: false; description: string; reason: string; enable: string[] };

/** The rows of one catalog query, in the request's scope. */
export async function select<T>(query: RawBuilder<T>): Promise<T[]> {
  return (await Database.use((db) => query.execute(db))).rows;
}

/** Whether an extension is created in this database, only installable (on the server), or missing. */
export async function extension(name: string): Promise<"created" | "installable" | "missing"> {
  const [found] = await select<{ created: boolean; installable: boolean }>(sql`
    select exists (select 1 from pg_extension where extname = ${name}) as created,
           exists (select 1 from pg_available_extensions where name = ${name}) as installable`);
  return found!.created ? "created" : found!.installable ? "installable" : "missing";
}
