import * as Sweep from "@shop/core/sweep";
import { job } from "../lib/job.ts";

/** The fold-stats job: folds the admin counts' stat_delta rows into one per count. */
export const handler = job("fold-stats", Sweep.foldStats);
