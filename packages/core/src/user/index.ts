import { sql } from "kysely";
import * as z from "zod";
import { Database } from "../db/index.ts";
import type { UserTable } from "../db/types.ts";
import type { Selectable } from "kysely";

export const Email = z
  .string()
  .trim()
  .min(3)
  .max(320)
  .regex(/^[^\s@]+@[^\s@]+$/, "must be an email address");

/** A user as the API shows it (GET /api/me). */
export const Info = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  is_admin: z.boolean(),
});
export type Info = z.infer<typeof Info>;

function toInfo(row: Pick<Selectable<UserTable>, "id" | "email" | "name" | "is_admin">): Info {
  return { id: row.id, email: row.email, name: row.name, is_admin: row.is_admin };
}

/** The user with this email (case-insensitive), or null. */
export async function fromEmail(email: string): Promise<Info | null> {
  return Database.use(async (db) => {
    const row = await db
      .selectFrom("user")
      .select(["id", "email", "name", "is_admin"])
      .where(sql`lower(email)`, "=", email.trim().toLowerCase())
      .executeTakeFirst();
    return row ? toInfo(row) : null;
  });
}

/** Creates the user, or returns the existing one with that email; `isAdmin` given is applied. */
export async function ensure(input: { email: string; name?: string; isAdmin?: boolean }): Promise<Info> {
  const email = Email.parse(input.email);
  return Database.use(async (db) => {
    const row = await db
      .insertInto("user")
      .values({ email, name: input.name ?? "", is_admin: input.isAdmin ?? false })
      .onConflict((oc) =>
        oc.expression(sql`lower(email)`).doUpdateSet((eb) => ({
          is_admin: input.isAdmin === undefined ? eb.ref("user.is_admin") : eb.val(input.isAdmin),
          name: input.name === undefined ? eb.ref("user.name") : eb.val(input.name),
        })),
      )
      .returning(["id", "email", "name", "is_admin"])
      .executeTakeFirstOrThrow();
    return toInfo(row);
  });
}
