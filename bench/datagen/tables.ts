import { hash as digest } from "node:crypto";
import { handlerFor } from "@shop/core/clickout";
import { ROW_STATUSES, type Model, type Table } from "./model.ts";
import { hash, pick, unit, weights } from "./random.ts";
import { sessionFacts, sessionSalts, sessionToken, type SessionFacts } from "./sessions.ts";
import {
  ADJECTIVES,
  BRANDS,
  COLORS,
  COMMENTS,
  DAY_MS,
  EMAIL_DOMAINS,
  encode,
  FACTORS,
  FIRST_NAMES,
  LAST_NAMES,
  MESSAGES,
  Out,
  PRODUCTS,
  QUALIFIERS,
  SELLER_WORDS,
  SIGNAL_TYPES,
  SIZES,
  Timestamps,
  USER_AGENTS,
  writeCode,
} from "./text.ts";

/**
 * One writer per table: the COPY column list and the text-format lines of any
 * id range, written as bytes into buffers that are handed to the stream when
 * full. Nothing is kept once written, so memory does not grow with the table.
 */

/** Takes a buffer of whole COPY lines; a promise means "wait before sending more" (backpressure). */
type Sink = (chunk: Buffer, rows: number) => void | Promise<void>;

export interface Task {
  table: Table;
  /** Tasks of one phase may run in parallel; a phase starts once every table its foreign keys point to is loaded. */
  phase: number;
  rows: number;
  run(sink: Sink): Promise<void>;
}

interface TableWriter {
  table: Table;
  phase: number;
  columns: readonly string[];
  tasks(maxRows: number): Task[];
}

const HANDLER_KINDS = ["amazon", "ebay", "affiliate", "direct"] as const;

type Line = (o: Out, id: number) => void;

/** Tasks writing ids lo..hi of a table whose lines depend on nothing but the id. */
function byId(table: Table, phase: number, count: number, line: Line) {
  return (maxRows: number): Task[] => {
    const tasks: Task[] = [];
    for (let lo = 1; lo <= count; lo += maxRows) {
      const hi = Math.min(count, lo + maxRows - 1);
      tasks.push({
        table,
        phase,
        rows: hi - lo + 1,
        async run(sink) {
          const o = new Out();
          let n = 0;
          for (let id = lo; id <= hi; id++) {
            line(o, id);
            n++;
            if (o.full()) {
              await sink(o.take(), n);
              n = 0;
            }
          }
          if (n > 0) await sink(o.take(), n);
        },
      });
    }
    return tasks;
  };
}

/** A 43-character base64url secret for a link, derived from the seed like session tokens. */
function linkToken(seed: string, kind: string, id: number): string {
  return digest("sha256", `shop-datagen:${seed}:${kind}:${id}`, "base64url");
}

const bytes = (s: string) => Buffer.from(s, "latin1");

/**
 * `tokenColumns`: a share link's and a seller quote's token, and from 0009 on its
 * sha256 beside it (`token_hash`, NOT NULL, filled by a trigger that the load
 * switches off); the plaintext stays, as in rows made before 0009, so that
 * benchmarks and the EXPLAIN suite can read usable tokens back.
 */
export function writers(m: Model, tokenColumns: readonly string[]): TableWriter[] {
  const link = (kind: string, id: number) => {
    const token = linkToken(m.seed, kind, id);
    return tokenColumns.length === 1 ? token : `${token}\t${digest("sha256", token, "hex")}`;
  };
  const days = new Timestamps(m.start - 2 * 365 * DAY_MS, m.now + 60 * DAY_MS);
  const c = m.counts;

  const B_BRANDS = encode(BRANDS);
  const B_PRODUCTS = encode(PRODUCTS);
  const B_STATUS = encode(ROW_STATUSES);

  const sellerDomain = (seller: number): string | null => {
    const h = hash(m.salt.sellerPick, seller);
    return h % 20 === 0 ? null : `${SELLER_WORDS[h % SELLER_WORDS.length]}${seller}.com`;
  };
  const domains = Array.from({ length: c.seller + 1 }, (_, s) => (s > 0 ? sellerDomain(s) : null));
  const directPrefix = domains.map((d) => bytes(d ? `https://${d}/products/` : "https://shop.example.com/p/"));

  const AMAZON = bytes("https://www.amazon.com/dp/B0");
  const EBAY = bytes("https://www.ebay.com/itm/");
  const CJ = bytes("https://www.anrdoezrs.net/click-");
  const AWIN = bytes("https://www.awin1.com/cread.php?awinmid=");
  const AWIN_P = bytes("&p=");
  /** The URL of a bid: its host decides the clickout handler. */
  const bidUrl = (o: Out, bid: number, kind: number, seller: number): void => {
    const h = hash(m.salt.bidKind ^ 0x2545f491, bid);
    if (kind === 0) {
      o.bytes(AMAZON);
      writeCode(o, h);
    } else if (kind === 1) {
      o.bytes(EBAY);
      o.int(100000000000 + (h % 900000000));
    } else if (kind === 2) {
      if (h & 1) {
        o.bytes(CJ);
        o.int(1000000 + (h % 9000000));
        o.buf[o.pos++] = 45; // -
      } else {
        o.bytes(AWIN);
        o.int(1000 + (h % 90000));
        o.bytes(AWIN_P);
      }
      o.int(bid);
    } else {
      o.bytes(directPrefix[seller]!);
      o.int(bid);
    }
  };
  // The handler of each kind of URL, as the app's own rule decides it (a test checks every clickout).
  const handlerOfKind = [0, 1, 2, 3].map((kind) => {
    const o = new Out(1 << 12, 0);
    bidUrl(o, 1, kind, 1);
    const handler = handlerFor(o.take().toString("latin1"));
    if (handler !== HANDLER_KINDS[kind]) throw new Error(`datagen: a ${HANDLER_KINDS[kind]} URL maps to handler ${handler}`);
    return bytes(handler);
  });

  /** A bid among those of rows created by time t, recent rows more likely (and rows with many bids). */
  const bidBefore = (t: number, u: number): number => {
    const known = m.rowFirstBid[m.rowsBefore(t) + 1]! - 1;
    return known > 0 ? 1 + Math.floor(known * (1 - u * u)) : 1 + Math.floor(u * c.bid);
  };
  /** A row among those created by time t, recent ones more likely. */
  const rowBefore = (t: number, u: number): number => {
    const known = m.rowsBefore(t);
    return known > 0 ? 1 + Math.floor(known * (1 - u * u)) : 1 + Math.floor(u * c.row);
  };

  // --- user ---------------------------------------------------------------------------------
  const us = m.saltsFor("user", ["name", "domain", "admin", "caps"]);
  const user: Line = (o, id) => {
    const h = hash(us.name, id);
    const first = FIRST_NAMES[h % FIRST_NAMES.length]!;
    const last = LAST_NAMES[(h >>> 8) % LAST_NAMES.length]!;
    const domain = EMAIL_DOMAINS[hash(us.domain, id) % EMAIL_DOMAINS.length]!;
    // The id keeps emails unique under lower(); a few are written with capitals.
    const local = unit(us.caps, id) < 0.05 ? `${first}.${last}${id}` : `${first.toLowerCase()}.${last.toLowerCase()}${id}`;
    o.int(id);
    o.tab();
    o.str(`${local}@${domain}\t${first} ${last}\t`);
    o.bool(id === 1 || unit(us.admin, id) < 0.002);
    o.tab();
    o.ts(m.userCreated[id]!, days);
    o.nl();
  };

  // --- seller, merchant -----------------------------------------------------------------------
  const ss = m.saltsFor("seller", ["name", "time"]);
  const seller: Line = (o, id) => {
    const h = hash(ss.name, id);
    o.int(id);
    o.str(`\t${BRANDS[h % BRANDS.length]} ${["Store", "Outlet", "Direct", "Supply", "Co"][(h >>> 8) % 5]} ${id}\t`);
    const domain = domains[id];
    if (domain) o.str(domain);
    else o.nul();
    o.tab();
    o.ts(m.start - unit(ss.time, id) * 365 * DAY_MS, days);
    o.nl();
  };
  const ms = m.saltsFor("merchant", ["name", "status", "stripe", "time"]);
  const MERCHANT_STATUS = weights([30, 60, 10]);
  const merchant: Line = (o, id) => {
    const status = pick(MERCHANT_STATUS, unit(ms.status, id));
    o.int(id);
    o.str(`\t${BRANDS[hash(ms.name, id) % BRANDS.length]} Merchant ${id}\t${["pending", "active", "suspended"][status]}\t`);
    o.bool(unit(ms.stripe, id) < [0.2, 0.9, 0.5][status]!);
    o.tab();
    o.ts(m.start + unit(ms.time, id) * m.span, days);
    o.nl();
  };

  // --- row ------------------------------------------------------------------------------------
  const rs = m.saltsFor("row", ["outreach", "factors", "chat", "chatLen", "updated"]);
  const OUTREACH = encode(["not_started", "in_progress", "completed", "failed"]);
  const OUTREACH_MIX = weights([30, 30, 30, 10]);
  const B_MESSAGES = [0, 1].map((role) =>
    MESSAGES.map((text) => bytes(`{"role":"${role ? "assistant" : "user"}","content":"${text}"}`)),
  );
  const row: Line = (o, id) => {
    const p = m.rowProduct(id);
    o.int(id);
    o.tab();
    o.int(m.rowUser[id]!);
    o.str(`\t${ADJECTIVES[(p >>> 8) % ADJECTIVES.length]} `);
    o.bytes(B_PRODUCTS[p % PRODUCTS.length]!);
    o.str(QUALIFIERS[(p >>> 16) % QUALIFIERS.length]!);
    o.tab();
    const status = m.rowStatus(id);
    o.bytes(B_STATUS[status]!);
    o.tab();
    o.bytes(OUTREACH[status === 0 ? 0 : pick(OUTREACH_MIX, unit(rs.outreach, id))]!);
    o.tab();
    const f = hash(rs.factors, id);
    let factors = "[";
    for (let k = 0; k < f % 4; k++) factors += `${k ? "," : ""}"${FACTORS[(f >>> (4 + 4 * k)) % FACTORS.length]}"`;
    if (f & 0x40000000) factors += `${factors.length > 1 ? "," : ""}{"max_price":${Math.ceil(m.rowPriceCents(id) / 80)}}`;
    o.str(`${factors}]\t[`);
    // Most chats are short; 2% run to dozens of messages (kilobytes: TOASTed like real ones).
    const cl = unit(rs.chatLen, id);
    const messages = cl < 0.02 ? 30 + Math.floor(cl * 1500) : Math.floor(cl * cl * 8);
    const ch = hash(rs.chat, id);
    for (let k = 0; k < messages; k++) {
      if (k) o.buf[o.pos++] = 44;
      o.bytes(B_MESSAGES[k & 1]![(ch + k * 7) % MESSAGES.length]!);
    }
    o.buf[o.pos++] = 93; // ]
    o.tab();
    const created = m.rowCreated(id);
    o.ts(created, days);
    o.tab();
    const uu = unit(rs.updated, id);
    o.ts(created + uu * uu * 0.5 * (m.now - created), days);
    o.nl();
  };

  // --- auth_session ---------------------------------------------------------------------------
  const sessSalts = sessionSalts(m);
  const facts: SessionFacts = { user: 0, state: 0, created: 0, expires: 0, revoked: 0, lastSeen: 0, agent: 0 };
  const B_AGENTS = encode(USER_AGENTS);
  const session: Line = (o, id) => {
    const f = sessionFacts(m, sessSalts, id, facts);
    o.int(id);
    o.tab();
    o.int(f.user);
    o.tab();
    // sha256 hex of the token, as the app's hashToken stores it.
    o.str(digest("sha256", sessionToken(m.seed, id), "hex"));
    o.tab();
    o.ts(f.created, days);
    o.tab();
    o.ts(f.expires, days);
    o.tab();
    if (f.revoked) o.ts(f.revoked, days);
    else o.nul();
    o.tab();
    if (f.lastSeen) o.ts(f.lastSeen, days);
    else o.nul();
    o.tab();
    if (f.agent < 0.05) o.nul();
    else o.bytes(B_AGENTS[Math.floor(f.agent * 997) % USER_AGENTS.length]!);
    o.nl();
  };

  // --- user_signal ----------------------------------------------------------------------------
  const sg = m.saltsFor("user_signal", ["user", "mix", "type", "value", "after"]);
  const signal: Line = (o, id) => {
    const user = m.skewedUser(unit(sg.mix, id), unit(sg.user, id));
    const type = hash(sg.type, id) % SIGNAL_TYPES.length;
    const v = hash(sg.value, id);
    const payload = [
      `{"brand":"${BRANDS[v % BRANDS.length]}"}`,
      `{"max":${50 + (v % 2000)},"currency":"USD"}`,
      `{"size":"${SIZES[v % SIZES.length]}"}`,
      `{"color":"${COLORS[v % COLORS.length]}"}`,
      `{"material":"plastic"}`,
      `{"days":${1 + (v % 14)}}`,
    ][type]!;
    o.int(id);
    o.tab();
    o.int(user);
    o.str(`\t${SIGNAL_TYPES[type]}\t${payload}\t`);
    o.ts(m.after(m.userCreated[user]!, m.eventTime("user_signal", id, c.user_signal), unit(sg.after, id)), days);
    o.nl();
  };

  // --- share_link -----------------------------------------------------------------------------
  const sl = m.saltsFor("share_link", ["row", "expires", "after"]);
  const share: Line = (o, id) => {
    const t0 = m.eventTime("share_link", id, c.share_link);
    const r = rowBefore(t0, unit(sl.row, id));
    const t = m.after(m.rowCreated(r), t0, unit(sl.after, id));
    o.int(id);
    o.str(`\t${link("share_link", id)}\trow\t`);
    o.int(r);
    o.tab();
    o.int(m.rowUser[r]!);
    o.tab();
    o.ts(t, days);
    o.tab();
    if (unit(sl.expires, id) < 0.5) o.nul();
    else o.ts(t + 30 * DAY_MS, days);
    o.nl();
  };

  // --- audit_log ------------------------------------------------------------------------------
  const al = m.saltsFor("audit_log", ["user", "mix", "anonymous", "action", "success", "details", "resource", "request", "after"]);
  const ACTIONS = [
    ["session.login", "auth_session"],
    ["session.logout", "auth_session"],
    ["share_link.create", "share_link"],
    ["row.delete", "row"],
    ["purchase.create", "purchase_event"],
    ["quote.submit", "seller_quote"],
    ["admin.access_denied", ""],
  ] as const;
  const ACTION_MIX = weights([35, 20, 10, 10, 10, 8, 7]);
  const audit: Line = (o, id) => {
    const user = unit(al.anonymous, id) < 0.05 ? 0 : m.skewedUser(unit(al.mix, id), unit(al.user, id));
    const [action, resourceType] = ACTIONS[pick(ACTION_MIX, unit(al.action, id))]!;
    o.int(id);
    o.tab();
    if (user) o.int(user);
    else o.nul();
    o.str(`\t${action}\t`);
    if (resourceType) {
      o.str(`${resourceType}\t`);
      o.int(1 + (hash(al.resource, id) % Math.max(1, c.row)));
    } else {
      o.nul();
      o.tab();
      o.nul();
    }
    o.tab();
    // Denied admin access is a failure by definition; about 4% of the rest failed too.
    o.bool(resourceType !== "" && unit(al.success, id) >= 0.04);
    o.tab();
    const d = hash(al.details, id);
    if (d & 1) o.nul();
    else o.str(`{"ip":"203.0.113.${d % 255}"}`);
    o.tab();
    o.str(`${hash(al.request, id).toString(16).padStart(8, "0")}${id.toString(16)}\t`);
    const t0 = m.eventTime("audit_log", id, c.audit_log);
    o.ts(user ? m.after(m.userCreated[user]!, t0, unit(al.after, id)) : t0, days);
    o.nl();
  };

  // --- bid: written row by row, each row's bids contiguous ------------------------------------
  const bs = m.saltsFor("bid", ["title", "image", "source", "liked"]);
  const CURRENCY = encode(["USD", "EUR", "GBP", "CAD"]);
  const IMAGE = bytes("https://img.example-cdn.com/");
  const JPG = bytes(".jpg\t");
  const SOURCE = encode(["quote\t", "feed\t", "search\t"]);
  const bidTasks = (maxRows: number): Task[] => {
    const tasks: Task[] = [];
    let lo = 1;
    while (lo <= c.row && c.bid > 0) {
      let hi = lo;
      while (hi < c.row && m.rowFirstBid[hi + 1]! - m.rowFirstBid[lo]! < maxRows) hi++;
      const rowLo = lo;
      const rowHi = hi;
      tasks.push({
        table: "bid",
        phase: 2,
        rows: m.rowFirstBid[rowHi + 1]! - m.rowFirstBid[rowLo]!,
        async run(sink) {
          const o = new Out();
          let n = 0;
          for (let r = rowLo; r <= rowHi; r++) {
            const first = m.rowFirstBid[r]!;
            const end = m.rowFirstBid[r + 1]!;
            if (first === end) continue;
            const selected = m.selectedBid(r);
            const product = B_PRODUCTS[m.rowProduct(r) % PRODUCTS.length]!;
            for (let id = first; id < end; id++) {
              const seller = m.bidSeller(id);
              const th = hash(bs.title, id);
              o.int(id);
              o.tab();
              o.int(r);
              o.tab();
              if (seller) o.int(seller);
              else o.nul();
              o.tab();
              o.bytes(B_BRANDS[th % BRANDS.length]!);
              o.buf[o.pos++] = 32;
              o.bytes(product);
              o.buf[o.pos++] = 32;
              writeCode(o, th);
              o.tab();
              o.money(m.bidPriceCents(id, r));
              o.tab();
              o.bytes(CURRENCY[m.bidCurrencyIndex(id)]!);
              o.tab();
              bidUrl(o, id, m.bidKind(id), seller);
              o.tab();
              if (unit(bs.image, id) < 0.2) {
                o.nul();
                o.tab();
              } else {
                o.bytes(IMAGE);
                o.int(th % 100000);
                o.buf[o.pos++] = 47; // /
                o.int(id);
                o.bytes(JPG);
              }
              const us2 = unit(bs.source, id);
              o.bytes(SOURCE[us2 < 0.1 ? 0 : us2 < 0.2 ? 1 : 2]!);
              const isSelected = id === selected;
              o.bool(isSelected);
              o.tab();
              o.bool(isSelected || unit(bs.liked, id) < 0.08);
              o.tab();
              o.ts(m.bidCreated(id, r), days);
              o.nl();
              n++;
              if (o.full()) {
                await sink(o.take(), n);
                n = 0;
              }
            }
          }
          if (n > 0) await sink(o.take(), n);
        },
      });
      lo = hi + 1;
    }
    return tasks;
  };

  // --- outreach_event -------------------------------------------------------------------------
  const oe = m.saltsFor("outreach_event", ["row", "seller", "channel", "status", "after"]);
  const CHANNEL = encode(["email", "sms", "web"]);
  const CHANNEL_MIX = weights([60, 15, 25]);
  const OUTREACH_STATUS = encode(["queued", "sent", "opened", "responded", "expired"]);
  const OUTREACH_STATUS_MIX = weights([15, 30, 20, 25, 10]);
  const outreach: Line = (o, id) => {
    const t0 = m.eventTime("outreach_event", id, c.outreach_event);
    const r = rowBefore(t0, unit(oe.row, id));
    const t = m.after(m.rowCreated(r), t0, unit(oe.after, id));
    const status = pick(OUTREACH_STATUS_MIX, unit(oe.status, id));
    o.int(id);
    o.tab();
    o.int(r);
    o.tab();
    o.int(m.popularSeller(unit(oe.seller, id)));
    o.tab();
    o.bytes(CHANNEL[pick(CHANNEL_MIX, unit(oe.channel, id))]!);
    o.tab();
    o.bytes(OUTREACH_STATUS[status]!);
    o.tab();
    if (status === 4) o.ts(Math.min(m.now, t + 7 * DAY_MS), days);
    else o.nul();
    o.tab();
    o.ts(t, days);
    o.nl();
  };

  // --- comment --------------------------------------------------------------------------------
  const cm = m.saltsFor("comment", ["row", "bid", "pickBid", "body", "after"]);
  const comment: Line = (o, id) => {
    const t0 = m.eventTime("comment", id, c.comment);
    const r = rowBefore(t0, unit(cm.row, id));
    const n = m.bidCount(r);
    let bid = 0;
    let parent = m.rowCreated(r);
    if (n > 0 && unit(cm.bid, id) < 0.4) {
      bid = m.rowFirstBid[r]! + Math.floor(unit(cm.pickBid, id) * n);
      parent = m.bidCreated(bid, r);
    }
    const h = hash(cm.body, id);
    o.int(id);
    o.tab();
    o.int(r);
    o.tab();
    if (bid) o.int(bid);
    else o.nul();
    o.tab();
    o.int(m.rowUser[r]!);
    o.tab();
    o.str(COMMENTS[h % COMMENTS.length]!);
    if (!(h & 1)) o.str(` ${COMMENTS[(h >>> 8) % COMMENTS.length]}`);
    o.tab();
    o.ts(m.after(parent, t0, unit(cm.after, id)), days);
    o.nl();
  };

  // --- clickout_event -------------------------------------------------------------------------
  const ce = m.saltsFor("clickout_event", ["bid", "suspicious", "after"]);
  const clickout: Line = (o, id) => {
    const t0 = m.eventTime("clickout_event", id, c.clickout_event);
    const bid = bidBefore(t0, unit(ce.bid, id));
    const r = m.rowOfBid(bid);
    const kind = m.bidKind(bid);
    o.int(id);
    o.tab();
    o.int(m.rowUser[r]!);
    o.tab();
    o.int(r);
    o.tab();
    o.int(bid);
    o.tab();
    bidUrl(o, bid, kind, m.bidSeller(bid));
    o.tab();
    o.bytes(handlerOfKind[kind]!);
    o.tab();
    o.bool(unit(ce.suspicious, id) < 0.03);
    o.tab();
    o.ts(m.after(m.bidCreated(bid, r), t0, unit(ce.after, id)), days);
    o.nl();
  };

  // --- purchase_event -------------------------------------------------------------------------
  const pe = m.saltsFor("purchase_event", ["bid", "status", "key", "after"]);
  const PURCHASE_STATUS = encode(["pending", "completed", "failed", "refunded"]);
  const PURCHASE_MIX = weights([10, 75, 10, 5]);
  const purchase: Line = (o, id) => {
    const t0 = m.eventTime("purchase_event", id, c.purchase_event);
    const any = bidBefore(t0, unit(pe.bid, id));
    const r = m.rowOfBid(any);
    // A row with a chosen bid is bought at that bid.
    const bid = m.selectedBid(r) || any;
    o.int(id);
    o.tab();
    o.int(m.rowUser[r]!);
    o.tab();
    o.int(r);
    o.tab();
    o.int(bid);
    o.tab();
    o.money(m.bidPriceCents(bid, r));
    o.tab();
    o.bytes(CURRENCY[m.bidCurrencyIndex(bid)]!);
    o.tab();
    o.bytes(PURCHASE_STATUS[pick(PURCHASE_MIX, unit(pe.status, id))]!);
    o.tab();
    if (unit(pe.key, id) < 0.3) o.nul();
    else o.str(`idem-${id}-${hash(pe.key, id).toString(36)}`);
    o.tab();
    o.ts(m.after(m.bidCreated(bid, r), t0, unit(pe.after, id)), days);
    o.nl();
  };

  // --- seller_quote ---------------------------------------------------------------------------
  const sq = m.saltsFor("seller_quote", ["row", "seller", "status", "bid", "after"]);
  const QUOTE_STATUS = encode(["pending", "submitted", "expired"]);
  const quote: Line = (o, id) => {
    const t0 = m.eventTime("seller_quote", id, c.seller_quote);
    const r = rowBefore(t0, unit(sq.row, id));
    const t = m.after(m.rowCreated(r), t0, unit(sq.after, id));
    const expiresAt = t + 7 * DAY_MS;
    const u = unit(sq.status, id);
    // Past their expiry most quotes were answered or swept; 5% still pending wait for the expiry sweep.
    const status = expiresAt < m.now ? (u < 0.05 ? 0 : u < 0.45 ? 1 : 2) : u < 0.6 ? 0 : 1;
    const n = m.bidCount(r);
    o.int(id);
    o.tab();
    o.int(r);
    o.tab();
    o.int(m.popularSeller(unit(sq.seller, id)));
    o.str(`\t${link("seller_quote", id)}\t`);
    o.ts(expiresAt, days);
    o.tab();
    o.bytes(QUOTE_STATUS[status]!);
    o.tab();
    if (status === 1 && n > 0) o.int(m.rowFirstBid[r]! + Math.floor(unit(sq.bid, id) * n));
    else o.nul();
    o.tab();
    o.ts(t, days);
    o.nl();
  };

  const plain = (table: Table, phase: number, columns: string[], line: Line): TableWriter => ({
    table,
    phase,
    columns,
    tasks: byId(table, phase, c[table], line),
  });

  return [
    plain("user", 0, ["id", "email", "name", "is_admin", "created_at"], user),
    plain("seller", 0, ["id", "name", "domain", "created_at"], seller),
    plain("merchant", 0, ["id", "name", "status", "stripe_onboarding_complete", "created_at"], merchant),
    plain(
      "row",
      1,
      ["id", "user_id", "title", "status", "outreach_status", "choice_factors", "chat_history", "created_at", "updated_at"],
      row,
    ),
    plain(
      "auth_session",
      1,
      ["id", "user_id", "token_hash", "created_at", "expires_at", "revoked_at", "last_seen_at", "user_agent"],
      session,
    ),
    plain("user_signal", 1, ["id", "user_id", "signal_type", "payload", "created_at"], signal),
    plain("share_link", 2, ["id", ...tokenColumns, "resource_type", "resource_id", "created_by", "created_at", "expires_at"], share),
    plain(
      "audit_log",
      1,
      ["id", "user_id", "action", "resource_type", "resource_id", "success", "details", "request_id", "timestamp"],
      audit,
    ),
    {
      table: "bid",
      phase: 2,
      columns: [
        "id", "row_id", "seller_id", "title", "price", "currency", "url", "image_url", "source", "is_selected", "is_liked",
        "created_at",
      ],
      tasks: bidTasks,
    },
    plain("outreach_event", 2, ["id", "row_id", "seller_id", "channel", "status", "expired_at", "created_at"], outreach),
    plain("comment", 3, ["id", "row_id", "bid_id", "user_id", "body", "created_at"], comment),
    plain(
      "clickout_event",
      3,
      ["id", "user_id", "row_id", "bid_id", "url", "handler", "is_suspicious", "created_at"],
      clickout,
    ),
    plain(
      "purchase_event",
      3,
      ["id", "user_id", "row_id", "bid_id", "amount", "currency", "status", "idempotency_key", "created_at"],
      purchase,
    ),
    plain(
      "seller_quote",
      3,
      ["id", "row_id", "seller_id", ...tokenColumns, "token_expires_at", "status", "bid_id", "created_at"],
      quote,
    ),
  ];
}
