import type { Kysely } from "kysely";
import { foldCatalog, type IndexBuildOptions, type IndexChange } from "../concurrent-index.ts";
import * as schema from "./0001_schema.ts";
import * as performanceIndexes from "./0002_add_performance_indexes.ts";
import * as rowSelectedBid from "./0003_row_selected_bid.ts";
import * as fitIndexes from "./0004_fit_indexes_to_queries.ts";
import * as rowBidCount from "./0005_row_bid_count.ts";
import * as ssdPlannerCosts from "./0006_ssd_planner_costs.ts";
import * as adminAndSweepIndexes from "./0007_admin_and_sweep_indexes.ts";
import * as clickoutWindow from "./0008_clickout_window.ts";
import * as tokenHashes from "./0009_token_hashes.ts";
import * as statCounts from "./0010_stat_counts.ts";

/**
 * Every migration, in order. Listed statically (not read from a folder) so the
 * bundled migrator Lambda carries them. Names sort in the order they run; a new
 * one's name goes into names.ts too (the readiness check's list).
 */

export interface MigrationDefinition {
  name: string;
  /** false: runs outside any transaction (CREATE INDEX CONCURRENTLY). */
  transactional: boolean;
  /** An index migration's changes: they make the catalog, the printed SQL and what verify expects. */
  changes?: readonly IndexChange[];
  up(db: Kysely<any>, options: IndexBuildOptions): Promise<void>;
  down(db: Kysely<any>, options: IndexBuildOptions): Promise<void>;
}

export const migrations: readonly MigrationDefinition[] = [
  { name: "0001_schema", ...schema },
  {
    name: "0002_add_performance_indexes",
    ...performanceIndexes,
    changes: performanceIndexes.indexes.map((spec) => ({ op: "create", ...spec })),
  },
  { name: "0003_row_selected_bid", ...rowSelectedBid },
  { name: "0004_fit_indexes_to_queries", ...fitIndexes },
  { name: "0005_row_bid_count", ...rowBidCount },
  { name: "0006_ssd_planner_costs", ...ssdPlannerCosts },
  { name: "0007_admin_and_sweep_indexes", ...adminAndSweepIndexes },
  { name: "0008_clickout_window", ...clickoutWindow },
  { name: "0009_token_hashes", ...tokenHashes },
  { name: "0010_stat_counts", ...statCounts },
];

/**
 * The index catalog as the latest migration leaves it (each index migration's
 * changes applied in order), and the indexes dropped on the way: verification,
 * repair and tests read these.
 */
export const { indexes: catalog, dropped: droppedIndexes } = foldCatalog(migrations.map((m) => m.changes ?? []));
export const schemaStatements = schema.statements;
