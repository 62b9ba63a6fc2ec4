import type { Kysely } from "kysely";
import type { IndexBuildOptions } from "../concurrent-index.ts";
import * as schema from "./0001_schema.ts";
import * as performanceIndexes from "./0002_add_performance_indexes.ts";
import * as rowSelectedBid from "./0003_row_selected_bid.ts";

/**
 * Every migration, in order. Listed statically (not read from a folder) so the
 * bundled migrator Lambda carries them. Names sort in the order they run; a new
 * one's name goes into names.ts too (the readiness check's list).
 */

export interface MigrationDefinition {
  name: string;
  /** false: runs outside any transaction (CREATE INDEX CONCURRENTLY). */
  transactional: boolean;
  up(db: Kysely<any>, options: IndexBuildOptions): Promise<void>;
  down(db: Kysely<any>): Promise<void>;
}

export const migrations: readonly MigrationDefinition[] = [
  { name: "0001_schema", ...schema },
  { name: "0002_add_performance_indexes", ...performanceIndexes },
  { name: "0003_row_selected_bid", ...rowSelectedBid },
];

/** The catalog indexes by name, for verification and the printed plan. */
export const catalog = performanceIndexes.indexes;
export const schemaStatements = schema.statements;
