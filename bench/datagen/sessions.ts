import { hash as digest } from "node:crypto";
import { hashToken } from "@shop/core/session";
import { Model, type PlanOptions } from "./model.ts";
import { unit } from "./random.ts";
import { DAY_MS, HOUR_MS } from "./text.ts";

/**
 * Sessions and their bearer tokens. A token is derived from the seed and the
 * session id, so a load tester can rebuild the tokens of a generated dataset
 * without the database ever storing one (it keeps only sha256(token), as the
 * app does). Test data only: anyone who knows the seed can sign in.
 */

export const SESSION_STATES = ["active", "expired", "revoked"] as const;

/** One session, as a reusable record (the writer fills it 200k times without allocating). */
export interface SessionFacts {
  user: number;
  state: 0 | 1 | 2;
  created: number;
  expires: number;
  /** 0: not revoked. */
  revoked: number;
  /** 0: never seen. */
  lastSeen: number;
  agent: number;
}

const TTL_MS = 30 * DAY_MS;

export function sessionSalts(m: Model) {
  return m.saltsFor("auth_session", ["user", "userMix", "state", "created", "ttl", "revoked", "seen", "agent"]);
}

/**
 * Session j: users 1..U each have one (their current one); the rest go to
 * users with the heavy-user skew. About 3% are revoked and 3% expired; the
 * active ones started in the last 28 days and stay valid at least two days past `now`.
 */
export function sessionFacts(m: Model, s: ReturnType<typeof sessionSalts>, j: number, out: SessionFacts): SessionFacts {
  const users = m.counts.user;
  const user = j <= users ? j : m.skewedUser(unit(s.userMix, j), unit(s.user, j));
  const born = m.userCreated[user]!;
  const u = unit(s.state, j);
  const state = u < 0.03 ? 2 : u < 0.06 ? 1 : 0;
  let created: number;
  let expires: number;
  let revoked = 0;
  if (state === 1) {
    // Expired: it started and ended between the user's sign-up and now.
    created = born + unit(s.created, j) * 0.9 * (m.now - born);
    expires = created + Math.min(TTL_MS, unit(s.ttl, j) * (m.now - created));
  } else {
    const from = Math.max(born, m.now - 28 * DAY_MS);
    created = from + unit(s.created, j) * (m.now - HOUR_MS - from);
    expires = created + TTL_MS;
    if (state === 2) revoked = created + unit(s.revoked, j) * (m.now - created);
  }
  const seenU = unit(s.seen, j);
  const seenUntil = Math.min(m.now, revoked || expires);
  out.user = user;
  out.state = state;
  out.created = created;
  out.expires = expires;
  out.revoked = revoked;
  out.lastSeen = seenU < 0.1 ? 0 : created + seenU * (seenUntil - created);
  out.agent = unit(s.agent, j);
  return out;
}

/** The bearer token of generated session `sessionId`: `sa_` + 43 base64url characters, like the app's. */
export function sessionToken(seed: string | number, sessionId: number): string {
  return `sa_${digest("sha256", `shop-datagen:${String(seed)}:auth_session:${sessionId}`, "base64url")}`;
}

/** What auth_session.token_hash holds for that session. */
export function sessionTokenHash(seed: string | number, sessionId: number): string {
  return hashToken(sessionToken(seed, sessionId));
}

export interface SampleToken {
  token: string;
  user_id: number;
  session_id: number;
  /** How many rows the user owns. */
  rows: number;
  kind: "heavy" | "light";
}

/**
 * Bearer tokens of `n` active sessions of a dataset generated with these
 * options: half from the users with the most rows, half from users with one
 * or two. Recomputed from the seed; the database is not read.
 */
export function activeTokens(options: PlanOptions, n: number): SampleToken[] {
  const m = new Model(options);
  const s = sessionSalts(m);
  const facts: SessionFacts = { user: 0, state: 0, created: 0, expires: 0, revoked: 0, lastSeen: 0, agent: 0 };
  const firstActive = new Int32Array(m.counts.user + 1);
  for (let j = 1; j <= m.counts.auth_session; j++) {
    sessionFacts(m, s, j, facts);
    if (facts.state === 0 && firstActive[facts.user] === 0) firstActive[facts.user] = j;
  }
  const byRows = Array.from({ length: m.counts.user }, (_, i) => i + 1)
    .filter((u) => firstActive[u]! > 0 && m.userRows[u]! > 0)
    .sort((a, b) => m.userRows[b]! - m.userRows[a]! || a - b);
  const heavyCount = Math.min(Math.ceil(n / 2), byRows.length);
  const heavy = byRows.slice(0, heavyCount);
  const light = byRows
    .slice(heavyCount)
    .reverse()
    .slice(0, Math.min(n - heavyCount, byRows.length - heavyCount));
  const token = (user: number, kind: SampleToken["kind"]): SampleToken => ({
    token: sessionToken(m.seed, firstActive[user]!),
    user_id: user,
    session_id: firstActive[user]!,
    rows: m.userRows[user]!,
    kind,
  });
  return [...heavy.map((u) => token(u, "heavy")), ...light.map((u) => token(u, "light"))];
}
