/**
 * COPY text-format building blocks. Every string the generator emits comes from
 * the vocabularies below or from digits, so nothing needs escaping: no tab,
 * newline, backslash or double quote (which keeps the JSON columns valid too).
 */

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** The text of one or more COPY lines, written as bytes into a buffer that is handed over when nearly full. */
export class Out {
  buf: Buffer;
  pos = 0;
  private readonly digits = new Uint8Array(24);
  private readonly size: number;
  /** Room kept for the longest line (a row's chat history runs to a few kB). */
  private readonly headroom: number;

  constructor(size = 1 << 18, headroom = 1 << 15) {
    this.size = size;
    this.headroom = headroom;
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  full(): boolean {
    return this.pos > this.size - this.headroom;
  }

  /** The bytes written so far; the writer continues in a fresh buffer (the stream owns this one now). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafeSlow(this.size);
    this.pos = 0;
    return out;
  }

  tab(): void {
    this.buf[this.pos++] = 9;
  }

  nl(): void {
    this.buf[this.pos++] = 10;
  }

  nul(): void {
    this.buf[this.pos++] = 92; // \N
    this.buf[this.pos++] = 78;
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 116 : 102;
  }

  bytes(b: Uint8Array): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** An ASCII string (everything generated is ASCII). */
  str(s: string): void {
    if (s.length > 48) {
      this.pos += this.buf.write(s, this.pos, "latin1");
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A non-negative whole number. */
  int(n: number): void {
    const d = this.digits;
    let k = 0;
    if (n < 2147483648) {
      let v = n | 0;
      do {
        const q = (v / 10) | 0;
        d[k++] = 48 + v - q * 10;
        v = q;
      } while (v > 0);
    } else {
      do {
        const q = Math.floor(n / 10);
        d[k++] = 48 + n - q * 10;
        n = q;
      } while (n > 0);
    }
    const buf = this.buf;
    let p = this.pos;
    while (k > 0) buf[p++] = d[--k]!;
    this.pos = p;
  }

  private two(v: number): void {
    const t = (v / 10) | 0;
    this.buf[this.pos++] = 48 + t;
    this.buf[this.pos++] = 48 + v - t * 10;
  }

  /** Cents as a numeric(12,2) literal. */
  money(cents: number): void {
    const whole = Math.floor(cents / 100);
    this.int(whole);
    this.buf[this.pos++] = 46;
    this.two(cents - whole * 100);
  }

  /** Epoch milliseconds as a timestamptz literal (UTC), the date part from a per-day cache. */
  ts(ms: number, days: Timestamps): void {
    ms = Math.floor(ms);
    const day = Math.floor(ms / DAY_MS);
    let rest = ms - day * DAY_MS;
    this.bytes(days.day(day));
    const h = (rest / HOUR_MS) | 0;
    rest -= h * HOUR_MS;
    const m = (rest / MINUTE_MS) | 0;
    rest -= m * MINUTE_MS;
    const s = (rest / 1000) | 0;
    rest -= s * 1000;
    this.two(h);
    this.buf[this.pos++] = 58;
    this.two(m);
    this.buf[this.pos++] = 58;
    this.two(s);
    this.buf[this.pos++] = 46;
    const hundreds = (rest / 100) | 0;
    this.buf[this.pos++] = 48 + hundreds;
    this.two(rest - hundreds * 100);
    this.buf[this.pos++] = 43; // +00
    this.buf[this.pos++] = 48;
    this.buf[this.pos++] = 48;
  }
}

/** "YYYY-MM-DD " for every day of the generated span, as bytes. */
export class Timestamps {
  private readonly firstDay: number;
  private readonly days: Uint8Array[] = [];

  constructor(fromMs: number, toMs: number) {
    this.firstDay = Math.floor(fromMs / DAY_MS) - 1;
    const last = Math.floor(toMs / DAY_MS) + 1;
    for (let d = this.firstDay; d <= last; d++) {
      this.days.push(Buffer.from(`${new Date(d * DAY_MS).toISOString().slice(0, 10)} `, "latin1"));
    }
  }

  day(day: number): Uint8Array {
    const bytes = this.days[day - this.firstDay];
    if (bytes === undefined) throw new RangeError(`day ${new Date(day * DAY_MS).toISOString()} outside the generated span`);
    return bytes;
  }
}

/** A vocabulary as bytes. */
export function encode(words: readonly string[]): Uint8Array[] {
  return words.map((w) => Buffer.from(w, "latin1"));
}

const ALPHANUM_BYTES = Buffer.from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", "latin1");

/** Eight characters of [A-Z0-9] from a uint32 (product codes and the like). */
export function writeCode(out: Out, bits: number): void {
  const buf = out.buf;
  let p = out.pos;
  for (let i = 0; i < 8; i++) {
    buf[p++] = ALPHANUM_BYTES[bits % 34]!;
    bits = Math.floor(bits / 34) + i * 7;
  }
  out.pos = p;
}

export const FIRST_NAMES = [
  "Ada", "Ben", "Carla", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lena", "Mateo", "Nia",
  "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe",
] as const;
export const LAST_NAMES = [
  "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Kowalski", "Nguyen", "Oduya", "Park",
  "Rossi", "Schmidt", "Iyer", "Byrne", "Costa", "Demir", "Fischer", "Garcia", "Jensen",
] as const;
export const EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"] as const;

export const PRODUCTS = [
  "standing desk", "office chair", "noise-cancelling headphones", "espresso machine", "burr grinder",
  "chef's knife", "cast iron skillet", "air purifier", "robot vacuum", "4K monitor", "mechanical keyboard",
  "trail running shoes", "rain jacket", "carry-on suitcase", "road bike helmet", "yoga mat", "blender",
  "electric kettle", "dining table", "sofa bed", "bookshelf", "desk lamp", "e-reader", "smartwatch",
  "bluetooth speaker", "tent", "sleeping bag", "camera backpack", "mirrorless camera", "tripod",
  "baby stroller", "car seat", "dog bed", "cat tree", "gaming laptop", "wireless router", "label printer",
  "stand mixer", "rice cooker", "winter boots",
] as const;
export const ADJECTIVES = [
  "Quiet", "Compact", "Durable", "Lightweight", "Affordable", "Premium", "Foldable", "Eco-friendly", "Waterproof",
  "Ergonomic", "Minimalist", "Heavy-duty", "Refurbished", "Vintage-style", "Kid-safe",
] as const;
export const QUALIFIERS = [
  "", "", "", " for a small apartment", " under 500 dollars", " that ships this week", " for a gift",
  " for travel", " with a long warranty", " in dark grey", " for two people", " made in Europe",
] as const;
export const BRANDS = [
  "Northwind", "Oak and Iron", "Kestrel", "Bluefin", "Alder", "Nimbus", "Brightline", "Ferro", "Lumen", "Tamarack",
  "Vantage", "Halcyon", "Copperleaf", "Driftwood", "Summit", "Arbor", "Pico", "Meridian", "Granite", "Willow",
] as const;
export const SELLER_WORDS = [
  "oakandiron", "northwind", "brightline", "kestrelgear", "bluefinhome", "alderco", "nimbusaudio", "ferrotools",
  "lumenlab", "tamarack", "vantageoutdoor", "halcyonliving", "copperleaf", "driftwood", "summitsport",
] as const;
export const FACTORS = [
  "solid wood", "foldable", "battery over 30h", "quiet", "dishwasher safe", "ships in 2 weeks", "free returns",
  "under 40cm tall", "USB-C", "vegan leather", "machine washable", "two-year warranty", "energy star",
] as const;
export const MESSAGES = [
  "I need something that fits a small room.", "What is the best option under my budget?",
  "Here are three options that match your criteria.", "Can you find one with free returns?",
  "I asked four sellers for quotes; two have answered.", "This one has great reviews for durability.",
  "Does it come in black?", "The cheapest bid ships in five days.", "Please compare the top two.",
  "I would rather avoid plastic parts.", "Found a refurbished one with a warranty.", "Let us go with the second one.",
] as const;
export const COMMENTS = [
  "Looks good to me.", "Too expensive for what it is.", "Can we get this in another colour?",
  "The reviews mention it is loud.", "Shipping time is a problem.", "This is the one!", "Ask the seller about returns.",
  "Price dropped since yesterday.", "Dimensions do not fit the space.", "Great find, thanks.",
] as const;
export const USER_AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
  "ShoppingAgent-iOS/3.2.1",
] as const;
export const SIGNAL_TYPES = ["prefers_brand", "budget_hint", "size", "color", "dislikes", "delivery_window"] as const;
export const COLORS = ["black", "white", "grey", "navy", "olive", "walnut"] as const;
export const SIZES = ["XS", "S", "M", "L", "XL", "EU 42", "US 10"] as const;
