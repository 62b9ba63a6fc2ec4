import { createHash, randomBytes } from "node:crypto";
import * as z from "zod";

/** A resource id in a path: digits only, positive, a safe integer ("abc", "1.5", "-1" are 400s). */
export const PathId = z
  .string()
  .regex(/^[1-9]\d*$/, "must be a positive whole number")
  .transform(Number)
  .refine(Number.isSafeInteger, "is out of range");

/** A resource id in a JSON body. */
export const BodyId = z.number().int().positive().refine(Number.isSafeInteger, "is out of range");

/** `?flag=true|false`. */
export const QueryBool = z.enum(["true", "false"], "must be true or false").transform((v) => v === "true");

/** A bearer secret for a link (share links, seller quotes): 32 random bytes, base64url; far beyond guessing. */
export function unguessableToken(): string {
  return randomBytes(32).toString("base64url");
}

/** sha256 hex of a bearer token: all the database keeps of new ones, and what lookups compare. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A timestamp as the API writes it: ISO 8601 UTC. */
export function iso(date: Date): string {
  return date.toISOString();
}

/** A timestamp that came back inside JSON built by Postgres (`+00:00`, microseconds) as API ISO. */
export function isoFromDb(value: string | Date): string {
  return new Date(value).toISOString();
}
