import * as Sweep from "@shop/core/sweep";
import { job } from "../lib/job.ts";

/** The expire-outreach job: marks outreach still queued or sent past its `expired_at` expired. */
export const handler = job("expire-outreach", Sweep.expireOutreach);
