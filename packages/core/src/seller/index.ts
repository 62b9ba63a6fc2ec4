import * as z from "zod";

/** A seller as embedded in bids. */
export const Info = z.object({
  id: z.number(),
  name: z.string(),
  domain: z.string().nullable(),
});
export type Info = z.infer<typeof Info>;
