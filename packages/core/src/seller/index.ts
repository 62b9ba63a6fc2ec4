import { z } from "zod";
import { Database } from "../db/index.ts";

/** A seller as embedded in bids. */
export const Info = z.object({
  id: z.number(),
  name: z.string(),
  domain: z.string().nullable(),
});
export type Info = z.infer<typeof Info>;

/** The seller with this id, or null. */
export async function fromID(id: number): Promise<Info | null> {
  return Database.use(async (db) => {
    const row = await db.selectFrom("seller").select(["id", "name", "domain"]).where("id", "=", id).executeTakeFirst();
    return row ?? null;
  });
}

/** Creates a seller. */
export async function create(input: { name: string; domain?: string | null }): Promise<Info> {
  return Database.use((db) =>
    db
      .insertInto("seller")
      .values({ name: input.name, domain: input.domain ?? null })
      .returning(["id", "name", "domain"])
      .executeTakeFirstOrThrow(),
  );
}
