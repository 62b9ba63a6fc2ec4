/**
 * Every migration's name, in order, and nothing else: GET /health/ready compares
 * the database against this list, and importing index.ts instead would bundle
 * every migration's SQL into its Lambda. A test keeps it equal to index.ts's.
 */
export const migrationNames = [
  "0001_schema",
  "0002_add_performance_indexes",
  "0003_row_selected_bid",
  "0004_fit_indexes_to_queries",
  "0005_row_bid_count",
  "0006_ssd_planner_costs",
  "0007_admin_and_sweep_indexes",
  "0008_clickout_window",
  "0009_token_hashes",
  "0010_stat_counts",
] as const;
