import * as Sweep from "@shop/core/sweep";
import { job } from "../lib/job.ts";

/** The expire-quotes job: marks pending seller quotes past their `token_expires_at` expired. */
export const handler = job("expire-quotes", Sweep.expireQuotes);
