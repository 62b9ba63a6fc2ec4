import { randomUUID } from "node:crypto";
import pg from "pg";

/**
 * Client traffic for the faults suite and `npm run bench:soak`: workers that read and write
 * through the HTTP API as users do, and a ledger of every write the API acknowledged, checked
 * against the database afterwards. A write that got no acknowledgement (a 503, no answer) may
 * or may not have happened; one that got it must be there, exactly once.
 */

/** A user the traffic acts as: a token, one of the user's rows and that row's bids. */
export interface Actor {
  userId: number;
  token: string;
  rowId: number;
  bidIds: number[];
}

type Kind = "read" | "comment" | "clickout" | "purchase" | "select";

/** One request: status 0 means no response at all; `at` is ms since the traffic started. */
export interface Outcome {
  kind: Kind;
  status: number;
  ms: number;
  at: number;
}

interface Ledger {
  /** Comment bodies: acknowledged, and tried without an acknowledgement. */
  comments: { acked: Set<string>; unacked: Set<string> };
  clickouts: { acked: Set<number>; unacked: number };
  /** Idempotency key -> the purchase id the API acknowledged (null: never acknowledged). */
  purchases: Map<string, number | null>;
  /** A replay of an acknowledged key that did not answer 200 with the same purchase. */
  replayMismatches: number;
  /** Row -> the last acknowledged selected bid, and the bids tried since without an acknowledgement. */
  selects: Map<number, { acked: number | null; since: Set<number> }>;
}

export interface Traffic {
  outcomes: Outcome[];
  /** Stops the workers (each finishes its request, a purchase without its retries) and returns the ledger. */
  stop(): Promise<Ledger>;
}

interface Options {
  url: string;
  actors: Actor[];
  /** Concurrent clients; each owns the actors i, i + workers, …, so one row's selects never race. */
  workers: number;
  mix: Partial<Record<Kind, number>>;
  /** Marks this run's comments. */
  tag?: string;
  /** Per-request client timeout (ms). */
  timeoutMs?: number;
}

/** Starts `workers` clients looping over the mix until `stop()`. */
export function startTraffic(options: Options): Traffic {
  const { url, actors, workers, mix } = options;
  if (actors.length < workers) throw new Error(`traffic: ${workers} workers need at least as many actors (got ${actors.length})`);
  const tag = options.tag ?? randomUUID().slice(0, 8);
  const started = performance.now();
  const outcomes: Outcome[] = [];
  const ledger: Ledger = {
    comments: { acked: new Set(), unacked: new Set() },
    clickouts: { acked: new Set(), unacked: 0 },
    purchases: new Map(),
    replayMismatches: 0,
    selects: new Map(),
  };
  const kinds = Object.entries(mix).filter(([, w]) => w! > 0) as Array<[Kind, number]>;
  const total = kinds.reduce((a, [, w]) => a + w, 0);
  const pickKind = (): Kind => {
    let r = Math.random() * total;
    for (const [kind, w] of kinds) if ((r -= w) < 0) return kind;
    return kinds[0]![0];
  };
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  let stopped = false;

  async function send(kind: Kind, actor: Actor, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const t0 = performance.now();
    let status = 0;
    let json: { id?: number } | null = null;
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${actor.token}`, ...(body ? { "content-type": "application/json" } : {}), ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      status = res.status;
      json = (await res.json().catch(() => null)) as { id?: number } | null;
    } catch {
      status = 0;
    }
    outcomes.push({ kind, status, ms: performance.now() - t0, at: t0 - started });
    return { status, json };
  }

  const ops: Record<Kind, (a: Actor) => Promise<void>> = {
    read: async (a) => {
      await send("read", a, "GET", Math.random() < 1 / 3 ? "/api/rows" : `/api/rows/${a.rowId}/bids`);
    },
    comment: async (a) => {
      const body = `traffic ${tag} ${randomUUID()}`;
      const { status } = await send("comment", a, "POST", `/api/rows/${a.rowId}/comments`, { body });
      ledger.comments[status === 201 ? "acked" : "unacked"].add(body);
    },
    clickout: async (a) => {
      const { status, json } = await send("clickout", a, "POST", "/api/clickouts", { bid_id: pick(a.bidIds) });
      if (status === 201) ledger.clickouts.acked.add(json!.id!);
      else ledger.clickouts.unacked++;
    },
    purchase: async (a) => {
      // What a client does with an idempotency key: retry until acknowledged, then a replay must find the same purchase.
      const key = randomUUID();
      const body = { bid_id: pick(a.bidIds) };
      ledger.purchases.set(key, null);
      for (;;) {
        const { status, json } = await send("purchase", a, "POST", "/api/purchases", body, { "idempotency-key": key });
        if (status === 201 || status === 200) {
          ledger.purchases.set(key, json!.id!);
          const replay = await send("purchase", a, "POST", "/api/purchases", body, { "idempotency-key": key });
          if (replay.status !== 0 && replay.status !== 503 && (replay.status !== 200 || replay.json?.id !== json!.id)) ledger.replayMismatches++;
          return;
        }
        if (stopped) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    select: async (a) => {
      const bid = pick(a.bidIds);
      const entry = ledger.selects.get(a.rowId) ?? { acked: null, since: new Set<number>() };
      ledger.selects.set(a.rowId, entry);
      const { status } = await send("select", a, "POST", `/api/rows/${a.rowId}/bids/${bid}/select`);
      if (status === 200) {
        entry.acked = bid;
        entry.since.clear();
      } else entry.since.add(bid);
    },
  };

  const loops = Array.from({ length: workers }, async (_, i) => {
    const own = actors.filter((_, j) => j % workers === i);
    while (!stopped) await ops[pickKind()](pick(own));
  });
  return {
    outcomes,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return ledger;
    },
  };
}

export interface WriteCheck {
  acknowledged: Record<Exclude<Kind, "read">, number>;
  /** Acknowledged writes missing from the database: must be 0. */
  lost: number;
  /** Writes in the database that no request of this run could have made: must be 0. */
  phantoms: number;
  /** An idempotency key with more than one purchase, or a replay that answered another purchase: must be 0. */
  duplicates: number;
  /** Rows whose bid count or selected bid disagrees with their bids (a half-applied write): must be 0. */
  inconsistentRows: number;
  /** Writes that went in although the client never saw them acknowledged (allowed: it gave up waiting). */
  unacknowledgedApplied: number;
}

/** Checks the ledger against the database at `databaseUrl` (straight to Postgres). */
export async function checkWrites(databaseUrl: string, ledger: Ledger, actors: Actor[], since: Date): Promise<WriteCheck> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const q = async <T>(text: string, values: unknown[]) => (await client.query(text, values)).rows as T[];
    const users = [...new Set(actors.map((a) => a.userId))];
    const rows = [...new Set(actors.map((a) => a.rowId))];
    let lost = 0;
    let phantoms = 0;
    let unacknowledgedApplied = 0;

    const tried = [...ledger.comments.acked, ...ledger.comments.unacked];
    const comments = new Set((await q<{ body: string }>("select body from comment where body = any($1)", [tried])).map((r) => r.body));
    for (const body of ledger.comments.acked) if (!comments.has(body)) lost++;
    for (const body of ledger.comments.unacked) if (comments.has(body)) unacknowledgedApplied++;
    const [{ n: commentTotal }] = await q<{ n: number }>("select count(*)::int as n from comment where row_id = any($1) and created_at >= $2", [rows, since]) as [{ n: number }];
    phantoms += Math.max(0, commentTotal - comments.size);

    const clickoutIds = new Set(
      (await q<{ id: number }>("select id::int from clickout_event where user_id = any($1) and created_at >= $2", [users, since])).map((r) => r.id),
    );
    for (const id of ledger.clickouts.acked) if (!clickoutIds.has(id)) lost++;
    const extraClickouts = clickoutIds.size - [...ledger.clickouts.acked].filter((id) => clickoutIds.has(id)).length;
    unacknowledgedApplied += Math.min(extraClickouts, ledger.clickouts.unacked);
    phantoms += Math.max(0, extraClickouts - ledger.clickouts.unacked);

    const purchases = await q<{ key: string; n: number; id: number }>(
      "select idempotency_key as key, count(*)::int as n, min(id)::int as id from purchase_event where user_id = any($1) and created_at >= $2 group by 1",
      [users, since],
    );
    const byKey = new Map(purchases.map((p) => [p.key, p]));
    const duplicates = ledger.replayMismatches + purchases.filter((p) => p.n > 1).length;
    for (const [key, id] of ledger.purchases) {
      const found = byKey.get(key);
      if (id !== null && found?.id !== id) lost++;
      if (id === null && found) unacknowledgedApplied++;
    }
    phantoms += purchases.filter((p) => !ledger.purchases.has(p.key)).length;

    const selected = new Map(
      (await q<{ id: number; bid: number | null }>("select id::int, selected_bid_id::int as bid from row where id = any($1)", [rows])).map((r) => [r.id, r.bid]),
    );
    for (const [row, { acked, since: after }] of ledger.selects) {
      const now = selected.get(row) ?? null;
      if (acked !== null && now !== acked && !(now !== null && after.has(now))) lost++;
    }

    const [{ n: inconsistentRows }] = (await q<{ n: number }>(
      `select count(*)::int as n from row r
        where r.id = any($1)
          and (r.bid_count <> (select count(*) from bid b where b.row_id = r.id)
               or r.selected_bid_id is distinct from (select b.id from bid b where b.row_id = r.id and b.is_selected))`,
      [rows],
    )) as [{ n: number }];

    const count = (m: Map<unknown, unknown>) => [...m.values()].filter((v) => v !== null).length;
    return {
      acknowledged: {
        comment: ledger.comments.acked.size,
        clickout: ledger.clickouts.acked.size,
        purchase: count(ledger.purchases),
        select: [...ledger.selects.values()].filter((s) => s.acked !== null).length,
      },
      lost,
      phantoms,
      duplicates,
      inconsistentRows,
      unacknowledgedApplied,
    };
  } finally {
    await client.end();
  }
}

/** Responses by status ("none": no response), per kind. */
export function statusesByKind(outcomes: Outcome[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const o of outcomes) {
    const byStatus = (out[o.kind] ??= {});
    const key = o.status === 0 ? "none" : String(o.status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  }
  return out;
}
