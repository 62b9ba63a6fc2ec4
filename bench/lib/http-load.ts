import autocannon from "autocannon";

/**
 * The reference load test's mix, with autocannon: each connection cycles
 * GET /api/rows (weight 1) and GET /api/rows/{id}/bids (weight 2), each
 * request as a user picked at random, and the bids of one of that user's rows.
 * Every response's time is kept (autocannon's own summary has whole ms and no p95).
 */

export interface User {
  token: string;
  rowIds: number[];
}

interface HttpResult {
  durationS: number;
  /** Milliseconds, one per response (any status). */
  latencies: number[];
  statuses: Record<string, number>;
  non2xx: number;
  /** Socket errors and timeouts (no response at all). */
  errors: number;
  timeouts: number;
}

/** A small seeded PRNG (mulberry32): the same run picks the same users. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runHttp(options: { url: string; users: User[]; connections: number; durationS: number; seed: number }): Promise<HttpResult> {
  const rand = random(options.seed);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const as = (user: User) => ({ authorization: `Bearer ${user.token}` });
  const rows: autocannon.Request = {
    method: "GET",
    setupRequest: (req) => ({ ...req, path: "/api/rows", headers: as(pick(options.users)) }),
  };
  const bids: autocannon.Request = {
    method: "GET",
    setupRequest: (req) => {
      const user = pick(options.users);
      return { ...req, path: `/api/rows/${pick(user.rowIds)}/bids`, headers: as(user) };
    },
  };
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: options.url, connections: options.connections, duration: options.durationS, requests: [rows, bids, bids], timeout: 10 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
  return {
    durationS: result.duration,
    latencies,
    statuses,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
