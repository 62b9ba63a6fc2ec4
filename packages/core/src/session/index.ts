import { createHash } from "node:crypto";
import { sql } from "kysely";
import * as Audit from "../audit/index.ts";
import { Database } from "../db/index.ts";
import { VisibleError } from "../error.ts";
import { unguessableToken } from "../ids.ts";

/**
 * Bearer-token sessions. The token is shown once, at creation; the database
 * keeps only its sha256 (hex) in auth_session.token_hash. A session is active
 * while `revoked_at is null and expires_at > now()`.
 */

/** Tokens look like `sa_<43 base64url chars>`: recognisable to secret scanners. */
const TOKEN_PATTERN = /^sa_[A-Za-z0-9_-]{43}$/;
export const DEFAULT_TTL_DAYS = 30;

/** Who is acting: resolved from an active session. */
export interface Actor {
  userId: number;
  sessionId: number;
  email: string;
  name: string;
  isAdmin: boolean;
}

function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function newToken(): string {
  return `sa_${unguessableToken()}`;
}

/** True for a string that could be one of our tokens (checked before any query). */
function isWellFormed(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/**
 * The actor behind an active session's token, or null. One statement: the
 * lookup (ix_auth_session_token_active) and, at most once a minute, the
 * `last_seen_at` touch.
 */
async function fromToken(token: string): Promise<Actor | null> {
  if (!isWellFormed(token)) return null;
  const tokenHash = hashToken(token);
  return Database.use(async (db) => {
    const { rows } = await sql<{ session_id: number; user_id: number; email: string; name: string; is_admin: boolean }>`
      with active as (
        select s.id as session_id, s.user_id, s.last_seen_at, u.email, u.name, u.is_admin
        from auth_session s
        join "user" u on u.id = s.user_id
        where s.token_hash = ${tokenHash} and s.revoked_at is null and s.expires_at > now()
      ), touched as (
        update auth_session set last_seen_at = now()
        from active
        where auth_session.id = active.session_id
          and (active.last_seen_at is null or active.last_seen_at < now() - interval '1 minute')
      )
      select session_id, user_id, email, name, is_admin from active`.execute(db);
    const row = rows[0];
    return row
      ? { userId: row.user_id, sessionId: row.session_id, email: row.email, name: row.name, isAdmin: row.is_admin }
      : null;
  });
}

/**
 * The actor behind a bearer token, for a route that needs a user or an admin:
 * 401 for a missing, malformed, unknown, revoked or expired token; 403 (and an
 * audit row) for a non-admin on an admin route.
 */
export async function authenticate(token: string | null, role: "user" | "admin"): Promise<Actor> {
  if (!token) throw new VisibleError("unauthorized", "unauthorized", "a bearer token is required");
  const actor = await fromToken(token);
  if (!actor) throw new VisibleError("unauthorized", "unauthorized", "the token is invalid, expired or revoked");
  if (role === "admin" && !actor.isAdmin) {
    await Audit.record({ action: "admin.access_denied", success: false, userId: actor.userId });
    throw new VisibleError("forbidden", "forbidden", "this route is for administrators");
  }
  return actor;
}

export interface Created {
  id: number;
  token: string;
  expiresAt: Date;
}

/** Opens a session for a user; the returned token is never stored and cannot be shown again. */
export async function create(
  userId: number,
  options: { ttlDays?: number; userAgent?: string | null } = {},
): Promise<Created> {
  const token = newToken();
  const ttlDays = options.ttlDays ?? DEFAULT_TTL_DAYS;
  return Database.use(async (db) => {
    const row = await db
      .insertInto("auth_session")
      .values({
        user_id: userId,
        token_hash: hashToken(token),
        expires_at: sql<Date>`now() + make_interval(days => ${ttlDays})`,
        user_agent: options.userAgent?.slice(0, 1000) ?? null,
      })
      .returning(["id", "expires_at"])
      .executeTakeFirstOrThrow();
    return { id: row.id, token, expiresAt: row.expires_at };
  });
}

/** Revokes the actor's session (its token fails from now on) and audits the logout. Idempotent. */
export async function logout(actor: Pick<Actor, "userId" | "sessionId">): Promise<void> {
  await Database.use((db) =>
    db
      .updateTable("auth_session")
      .set({ revoked_at: sql<Date>`now()` })
      .where("id", "=", actor.sessionId)
      .where("revoked_at", "is", null)
      .execute(),
  );
  await Audit.record({ action: "session.logout", success: true, userId: actor.userId, resourceType: "auth_session", resourceId: actor.sessionId });
}
