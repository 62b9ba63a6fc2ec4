import { hash, pick, salts, scatter, seedBits, unit, weights, zipf } from "./random.ts";
import { DAY_MS, MINUTE_MS } from "./text.ts";

/**
 * The shape of a generated dataset: how many of everything, and the few
 * O(rows) facts (who owns each row, where each row's bids start) that the
 * per-table writers share. Everything else is a pure function of the seed and
 * an id, computed where it is written.
 */

/** The app tables, in an order where every foreign key points backwards. */
export const TABLES = [
  "user",
  "seller",
  "merchant",
  "row",
  "auth_session",
  "user_signal",
  "share_link",
  "audit_log",
  "bid",
  "outreach_event",
  "comment",
  "clickout_event",
  "purchase_event",
  "seller_quote",
] as const;
export type Table = (typeof TABLES)[number];
export type Counts = Record<Table, number>;

export const SCALES = {
  /** The guide's `--rows=1000 --bids-per-row=50`. */
  small: { rows: 1_000, bidsPerRow: 50 },
  medium: { rows: 10_000, bidsPerRow: 50 },
  /** 100k rows, 5M bids, 1M clickouts, 200k sessions. */
  large: { rows: 100_000, bidsPerRow: 50 },
} as const;
export type Scale = keyof typeof SCALES;

export interface PlanOptions {
  rows: number;
  bidsPerRow: number;
  /** Same seed, same options, same `now`: the same bytes. */
  seed?: string | number;
  /** The dataset's "now": history spans the year before it, active sessions outlive it. Default: today 00:00 UTC. */
  now?: Date;
  /** Overrides for the derived table sizes (rows and bids come from rows/bidsPerRow). */
  counts?: Partial<Omit<Counts, "row" | "bid">>;
}

/** Table sizes for rows × bidsPerRow: everything else scales with rows (and clickouts with bids). */
export function countsFor(options: PlanOptions): Counts {
  const rows = options.rows;
  const bids = rows * options.bidsPerRow;
  const derived: Counts = {
    user: Math.max(20, Math.round(rows / 5)),
    seller: Math.max(50, Math.round(rows / 50)),
    merchant: Math.max(10, Math.round(rows / 100)),
    row: rows,
    auth_session: 2 * rows,
    user_signal: rows,
    share_link: Math.round(rows / 10),
    audit_log: 2 * rows,
    bid: bids,
    outreach_event: 3 * rows,
    comment: 2 * rows,
    clickout_event: Math.round(bids / 5),
    purchase_event: bids > 0 ? Math.round(rows / 5) : 0,
    seller_quote: rows,
  };
  const counts = { ...derived, ...options.counts, row: rows, bid: bids };
  if (rows > 0 && counts.user < 1) throw new RangeError("rows need at least one user");
  if ((counts.outreach_event > 0 || counts.seller_quote > 0 || bids > 0) && counts.seller < 1) {
    throw new RangeError("bids, outreach and quotes need at least one seller");
  }
  for (const table of ["comment", "outreach_event", "seller_quote", "share_link"] as const) {
    if (counts[table] > 0 && rows === 0) throw new RangeError(`${table} needs rows`);
  }
  if ((counts.clickout_event > 0 || counts.purchase_event > 0) && bids === 0) {
    throw new RangeError("clickouts and purchases need bids");
  }
  return counts;
}

export const ROW_STATUSES = [
  "sourcing",
  "inviting",
  "bids_arriving",
  "reviewing",
  "selected",
  "purchased",
  "closed",
  "archived",
] as const;
const ROW_STATUS_MIX = weights([12, 8, 15, 20, 10, 10, 15, 10]);
/** Rows without bids can only be early in their life (or given up on). */
const EMPTY_ROW_STATUS_MIX = weights([60, 30, 0, 0, 0, 0, 0, 10]);

const FIELDS = [
  "rowUserMix", "rowUserZipf", "rowUserUniform", "rowTime", "rowBidWeightA", "rowBidWeightB", "rowStatus",
  "rowSelected", "rowPrice", "rowProduct", "userNoRowTime", "userLead", "sessionUser", "sessionUserMix",
  "sessionState", "eventTime", "sellerPick", "bidSeller", "bidKind", "bidTime", "bidPrice", "bidCurrency",
] as const;

const TABLE_SALT_NAMES = TABLES.map((t) => `table:${t}` as const);

/** The O(rows) facts of a dataset and the pure functions over them. */
export class Model {
  readonly counts: Counts;
  readonly seed: string;
  readonly now: number;
  readonly start: number;
  readonly span: number;
  readonly salt: Record<(typeof FIELDS)[number], number>;
  readonly tableSalt: Record<`table:${Table}`, number>;
  /** row id → user id (index 0 unused). */
  readonly rowUser: Int32Array;
  /** row id → its first bid id; rowFirstBid[rows + 1] = bids + 1, so a row's count is the difference. */
  readonly rowFirstBid: Float64Array;
  /** user id → created_at (ms): just before the user's first row. */
  readonly userCreated: Float64Array;
  /** user id → how many rows the user has. */
  readonly userRows: Int32Array;
  private readonly userOfRank: (rank: number) => number;
  private readonly sellerOfRank: (rank: number) => number;
  private readonly userZipf: Float64Array;
  private readonly sellerZipf: Float64Array;

  constructor(options: PlanOptions) {
    if (!Number.isInteger(options.rows) || options.rows < 0) throw new RangeError("rows must be a whole number >= 0");
    if (!Number.isInteger(options.bidsPerRow) || options.bidsPerRow < 0) {
      throw new RangeError("bidsPerRow must be a whole number >= 0");
    }
    this.counts = countsFor(options);
    this.seed = String(options.seed ?? 1);
    const bits = seedBits(this.seed);
    this.salt = salts(bits, FIELDS);
    this.tableSalt = salts(bits ^ 0x3c6ef372, TABLE_SALT_NAMES);
    this.now = (options.now ?? startOfTodayUtc()).getTime();
    this.span = 365 * DAY_MS;
    this.start = this.now - this.span;

    const { user: users, seller: sellers, row: rows, bid: bids } = this.counts;
    // Heavy users (and popular sellers) are spread over ids rather than being ids 1, 2, 3.
    const userScatter = scatter(users, bits);
    const sellerScatter = scatter(sellers, bits >>> 7);
    this.userOfRank = (rank) => userScatter(rank) + 1;
    this.sellerOfRank = (rank) => sellerScatter(rank) + 1;
    this.userZipf = zipf(Math.max(users, 1), 1.1, 2);
    this.sellerZipf = zipf(Math.max(sellers, 1), 1.0, 1);

    // Half the rows go to a user picked uniformly (most users: a handful), half by a Zipf law (a few: hundreds).
    this.rowUser = new Int32Array(rows + 1);
    this.userRows = new Int32Array(users + 1);
    const s = this.salt;
    for (let r = 1; r <= rows; r++) {
      const user =
        unit(s.rowUserMix, r) < 0.5
          ? 1 + Math.floor(unit(s.rowUserUniform, r) * users)
          : this.userOfRank(pick(this.userZipf, unit(s.rowUserZipf, r)));
      this.rowUser[r] = user;
      this.userRows[user]!++;
    }

    this.userCreated = new Float64Array(users + 1).fill(Infinity);
    for (let r = 1; r <= rows; r++) {
      const u = this.rowUser[r]!;
      const lead = unit(s.userLead, r) * 3 * DAY_MS + MINUTE_MS;
      const t = this.rowCreated(r) - lead;
      if (t < this.userCreated[u]!) this.userCreated[u] = t;
    }
    for (let u = 1; u <= users; u++) {
      if (this.userCreated[u] === Infinity) {
        this.userCreated[u] = this.start + unit(s.userNoRowTime, u) * (this.span - DAY_MS);
      }
    }

    // Bids per row: log-normal weights (σ = 1) scaled so that the total is exactly rows × bidsPerRow:
    // the median row has about half the mean, the busiest few hundreds.
    this.rowFirstBid = new Float64Array(rows + 2);
    const weight = new Float64Array(rows + 1);
    let total = 0;
    for (let r = 1; r <= rows; r++) {
      const u1 = unit(s.rowBidWeightA, r) || 1e-12;
      const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * unit(s.rowBidWeightB, r));
      weight[r] = Math.exp(normal);
      total += weight[r]!;
    }
    const counts = new Int32Array(rows + 1);
    let assigned = 0;
    for (let r = 1; r <= rows; r++) {
      counts[r] = Math.floor((bids * weight[r]!) / total);
      assigned += counts[r]!;
    }
    const spread = scatter(rows, bits >>> 3);
    for (let k = 0; k < bids - assigned; k++) counts[spread(k % rows) + 1]!++;
    let next = 1;
    for (let r = 1; r <= rows; r++) {
      this.rowFirstBid[r] = next;
      next += counts[r]!;
    }
    this.rowFirstBid[rows + 1] = next;
  }

  /** A row's created_at: spread over the year, denser lately (the service grew), rising with id. */
  rowCreated(r: number): number {
    const x = (r - 1 + unit(this.salt.rowTime, r)) / this.counts.row;
    return this.start + DAY_MS + Math.sqrt(x) * (this.span - 2 * DAY_MS);
  }

  bidCount(r: number): number {
    return this.rowFirstBid[r + 1]! - this.rowFirstBid[r]!;
  }

  rowStatus(r: number): number {
    return pick(this.bidCount(r) > 0 ? ROW_STATUS_MIX : EMPTY_ROW_STATUS_MIX, unit(this.salt.rowStatus, r));
  }

  /** The selected bid of a row (0: none). Selected and purchased rows have one; half the closed ones. */
  selectedBid(r: number): number {
    const n = this.bidCount(r);
    if (n === 0) return 0;
    const status = ROW_STATUSES[this.rowStatus(r)];
    const u = unit(this.salt.rowSelected, r);
    if (status === "selected" || status === "purchased" || (status === "closed" && u < 0.5)) {
      return this.rowFirstBid[r]! + Math.floor(u * 2 * n) % n;
    }
    return 0;
  }

  /** The row a bid belongs to (binary search over rowFirstBid). */
  rowOfBid(bid: number): number {
    let lo = 1;
    let hi = this.counts.row;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.rowFirstBid[mid]! <= bid) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** A row's typical price in cents (its bids scatter around it): $5 to about $2,700, log-uniform. */
  rowPriceCents(r: number): number {
    return Math.round(500 * Math.exp(6.3 * unit(this.salt.rowPrice, r)));
  }

  rowProduct(r: number): number {
    return hash(this.salt.rowProduct, r);
  }

  bidSeller(bid: number): number {
    const u = unit(this.salt.bidSeller, bid);
    // 5% of bids come from no known seller (seller_id null).
    return u < 0.05 ? 0 : this.sellerOfRank(pick(this.sellerZipf, (u - 0.05) / 0.95));
  }

  /** 0 amazon, 1 ebay, 2 affiliate network, 3 the seller's own shop. */
  bidKind(bid: number): number {
    const u = unit(this.salt.bidKind, bid);
    return u < 0.35 ? 0 : u < 0.55 ? 1 : u < 0.7 ? 2 : 3;
  }

  /** Bids arrive within two weeks of their row (most in the first days), never after now. */
  bidCreated(bid: number, row: number): number {
    const rowAt = this.rowCreated(row);
    const room = Math.min(14 * DAY_MS, this.now - rowAt - MINUTE_MS);
    const u = unit(this.salt.bidTime, bid);
    return rowAt + MINUTE_MS + u * u * room;
  }

  bidPriceCents(bid: number, row: number): number {
    return Math.round(this.rowPriceCents(row) * (0.6 + 0.8 * unit(this.salt.bidPrice, bid)));
  }

  /** 0 USD, 1 EUR, 2 GBP, 3 CAD. */
  bidCurrencyIndex(bid: number): number {
    const u = unit(this.salt.bidCurrency, bid);
    return u < 0.85 ? 0 : u < 0.93 ? 1 : u < 0.98 ? 2 : 3;
  }

  /** Independent salts for one table's own fields. */
  saltsFor<const K extends string>(table: Table, names: readonly K[]): Record<K, number> {
    return salts((this.tableSalt[`table:${table}`] ^ 0x1b873593) >>> 0, names);
  }

  /** A user picked with the heavy-user skew (for sessions, signals). */
  skewedUser(u1: number, u2: number): number {
    return u1 < 0.5 ? 1 + Math.floor(u2 * this.counts.user) : this.userOfRank(pick(this.userZipf, u2));
  }

  /** A seller picked by popularity (Zipf). */
  popularSeller(u: number): number {
    return this.sellerOfRank(pick(this.sellerZipf, u));
  }

  /**
   * The i-th of n events of a table: its time rises with id (an append-only log), denser lately.
   * `unit(salt, i)` jitters it within its slot.
   */
  eventTime(table: Table, i: number, n: number): number {
    const x = (i - 1 + unit(this.tableSalt[`table:${table}`], i)) / n;
    return this.start + DAY_MS + Math.sqrt(x) * (this.span - 2 * DAY_MS);
  }

  /** The last row created at or before time t (0 if none). */
  rowsBefore(t: number): number {
    const x = (t - this.start - DAY_MS) / (this.span - 2 * DAY_MS);
    if (x <= 0) return 0;
    return Math.min(this.counts.row, Math.floor(x * x * this.counts.row));
  }

  /** t if it comes after `after`, else a moment between `after` and now: events never precede what they refer to. */
  after(after: number, t: number, u: number): number {
    if (t > after) return t;
    return after + (0.01 + 0.1 * u) * Math.max(0, this.now - after);
  }
}

export function startOfTodayUtc(): Date {
  const now = Date.now();
  return new Date(now - (now % DAY_MS));
}
