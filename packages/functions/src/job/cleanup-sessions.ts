import * as Sweep from "@shop/core/sweep";
import { job } from "../lib/job.ts";

/** The cleanup-sessions job: deletes sessions revoked or expired more than 30 days ago. */
export const handler = job("cleanup-sessions", Sweep.cleanupSessions);
