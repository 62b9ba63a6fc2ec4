import { sql } from "kysely";
import * as Audit from "../audit/index.ts";
import { Context } from "../context.ts";
import { Database, prepare, type Executor } from "../db/index.ts";
import { VisibleError } from "../error.ts";
import { tokenHash, unguessableToken } from "../ids.ts";

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

function newToken(): string {
  return `sa_${unguessableToken()}`;
}

/** A bearer token that could be ours, not yet checked against the database. */
export interface Credential {
  tokenHash: string;
}

function unauthorized(message = "the token is invalid, expired or revoked"): VisibleError {
  return new VisibleError("unauthorized", "unauthorized", message);
}

/** The credential of a bearer token: 401 when there is none or it cannot be one of ours (no query). */
export function credential(token: string | null): Credential {
  if (!token) throw unauthorized("a bearer token is required");
  if (!TOKEN_PATTERN.test(token)) throw unauthorized();
  return { tokenHash: tokenHash(token) };
}

/**
 * `db` with the active session behind a credential as the CTE `actor`
 * (`session_id`, `user_id`; found through ix_auth_session_token_active), and
 * its `last_seen_at` touched at most once a minute. A hot read selects from
 * `actor` and joins its data to it: one round trip for the check and the read.
 */
export function withActor(db: Executor, { tokenHash }: Credential) {
  return db
    .with("actor", (qc) =>
      qc
        .selectFrom("auth_session")
        .select(["auth_session.id as session_id", "auth_session.user_id", "auth_session.last_seen_at"])
        .where("auth_session.token_hash", "=", tokenHash)
        .where("auth_session.revoked_at", "is", null)
        .where("auth_session.expires_at", ">", sql<Date>`now()`),
    )
    .with("touched", (qc) =>
      qc
        .updateTable("auth_session")
        .set({ last_seen_at: sql<Date>`now()` })
        .from("actor")
        .whereRef("auth_session.id", "=", "actor.session_id")
        .where((eb) => eb.or([eb("actor.last_seen_at", "is", null), eb("actor.last_seen_at", "<", sql<Date>`now() - interval '1 minute'`)])),
    );
}

/**
 * The acting user's id from a statement built on `withActor` (no result: 401),
 * recorded in the request context for logs and audit rows.
 */
export function actorOf<R extends { actor_id: number }>(result: R | undefined): R {
  if (!result) throw unauthorized();
  const ctx = Context.get();
  if (ctx) ctx.userId = result.actor_id;
  return result;
}

const actorQuery = prepare((db, v: Credential) =>
  withActor(db, v)
    .selectFrom("actor")
    .innerJoin("user", "user.id", "actor.user_id")
    .select(["actor.session_id", "actor.user_id as actor_id", "user.email", "user.name", "user.is_admin"]),
);

/**
 * The actor behind a bearer token, for a route that needs a user or an admin:
 * 401 for a missing, malformed, unknown, revoked or expired token; 403 (and an
 * audit row) for a non-admin on an admin route. One statement.
 */
export async function authenticate(token: string | null, role: "user" | "admin"): Promise<Actor> {
  const [found] = await Database.use((db) => actorQuery(db, credential(token)));
  const row = actorOf(found);
  const actor = { userId: row.actor_id, sessionId: row.session_id, email: row.email, name: row.name, isAdmin: row.is_admin };
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
        token_hash: tokenHash(token),
        expires_at: sql<Date>`now() + make_interval(days => ${ttlDays})`,
        user_agent: options.userAgent?.slice(0, 1000) ?? null,
      })
      .returning(["id", "expires_at"])
      .executeTakeFirstOrThrow();
    return { id: row.id, token, expiresAt: row.expires_at };
  });
}

/** Revokes the actor's session (its token fails from now on) and audits the logout, in one statement. Idempotent. */
export async function logout(actor: Pick<Actor, "userId" | "sessionId">): Promise<void> {
  await Database.use((db) =>
    db
      .with("revoked", (qc) =>
        qc
          .updateTable("auth_session")
          .set({ revoked_at: sql<Date>`now()` })
          .where("id", "=", actor.sessionId)
          .where("revoked_at", "is", null)
          .returning("id"),
      )
      .with("audit", (qc) =>
        Audit.insertFor(qc, "revoked", {
          action: "session.logout",
          success: true,
          userId: actor.userId,
          resourceType: "auth_session",
          resourceId: actor.sessionId,
        }),
      )
      .selectFrom("revoked")
      .select("id")
      .execute(),
  );
}
