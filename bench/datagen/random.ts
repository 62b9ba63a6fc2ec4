/**
 * Counter-based randomness: every value is a pure function of (seed, field, id),
 * so any slice of any table can be generated on its own, in any order, by any
 * number of parallel streams, and still come out byte-identical.
 */

/** murmur3's 32-bit finalizer: a bijection on uint32 with full avalanche. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A uint32 for (salt, id); distinct ids never collide under one salt (both steps are bijections). */
export function hash(salt: number, id: number): number {
  return fmix32((salt ^ Math.imul(id, 0x9e3779b1)) >>> 0);
}

const TWO_32 = 4294967296;

/** A uniform number in [0, 1) for (salt, id). */
export function unit(salt: number, id: number): number {
  return hash(salt, id) / TWO_32;
}

/** FNV-1a of a string: turns any --seed into 32 bits. */
export function seedBits(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

/** One independent salt per named field, all derived from the seed. */
export function salts<const K extends string>(seed: number, names: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  names.forEach((name, i) => {
    out[name] = fmix32((seed ^ Math.imul(i + 1, 0x632be5ab)) >>> 0);
  });
  return out;
}

/** Picks an index by weight from a cumulative table (binary search). */
export function pick(cumulative: Float64Array, u: number): number {
  const target = u * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Cumulative weights of a Zipf–Mandelbrot law over n ranks: weight(k) = 1 / (k + 1 + q)^s. */
export function zipf(n: number, s: number, q = 0): Float64Array {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1 + q, s);
    cumulative[k] = total;
  }
  return cumulative;
}

/** Cumulative weights for a small fixed mix, e.g. statuses. */
export function weights(values: readonly number[]): Float64Array {
  const cumulative = new Float64Array(values.length);
  let total = 0;
  values.forEach((w, i) => {
    total += w;
    cumulative[i] = total;
  });
  return cumulative;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * A cheap bijection of 0..n-1 (multiply by a step coprime with n): spreads
 * "rank k" over ids so that the heaviest users or sellers are not simply ids 1, 2, 3.
 */
export function scatter(n: number, offset: number): (k: number) => number {
  let step = 7919;
  while (n > 1 && gcd(step, n) !== 1) step += 2;
  const shift = n > 0 ? offset % n : 0;
  return (k) => (k * step + shift) % n;
}
