// Shared helpers of the nn test suites: seeded host arrays, float64 tensors, tree perturbation
// and central finite differences. Everything numeric here is plain JS over typed arrays, so the
// tests do not check the library against itself.
import fc from 'fast-check';
import { type DType, type Tensor, tensor, treeMap, type TypedArray } from '@resgrad/core';

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** mulberry32: a tiny seeded generator, so fast-check only has to pick a seed per array. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

/** Values uniform in [lo, hi), from a seed. */
export function randArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * r();
  return d;
}

/** A tensor of `shape` with values uniform in [lo, hi) from a seed. */
export function randTensor(shape: readonly number[], seed: number, options: { lo?: number; hi?: number; dtype?: DType } = {}): Tensor {
  const d = randArray(sizeOf(shape), seed, options.lo ?? -1, options.hi ?? 1);
  return tensor(d, { shape, dtype: options.dtype ?? 'float64' });
}

/**
 * Pairwise distinct values at least `gap` apart (a shuffled ladder plus a small jitter): no
 * ties, so max pooling is differentiable there and a small finite-difference step crosses no kink.
 */
export function distinctTensor(shape: readonly number[], seed: number, gap = 0.05): Tensor {
  const r = rng(seed);
  const n = sizeOf(shape);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const off = -0.5 * gap * n;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = off + perm[i]! * gap + 0.25 * gap * r();
  return tensor(d, { shape, dtype: 'float64' });
}

export const f64 = (t: Tensor): Float64Array => Float64Array.from(t.data() as ArrayLike<number>);

/** A copy of `t` with element `i` moved by `delta` (same dtype and shape). */
export function perturb(t: Tensor, i: number, delta: number): Tensor {
  const d = t.data().slice() as TypedArray;
  d[i] = d[i]! + delta;
  return tensor(d, { shape: t.shape, dtype: t.dtype });
}

/** The tree with leaf `path`'s element `i` moved by `delta`. */
export function perturbTree<T>(tree: T, path: string, i: number, delta: number): T {
  return treeMap<T>(tree, (t, p) => (p === path ? perturb(t, i, delta) : t));
}

/** `count` distinct indices in [0, n), chosen from a seed (all of them when n <= count). */
export function pickIndices(n: number, count: number, seed: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  const out = new Set<number>();
  while (out.size < count) out.add(Math.floor(r() * n));
  return [...out].sort((a, b) => a - b);
}

/**
 * Five-point central difference of a scalar function of a real number at 0:
 * (-f(2h) + 8 f(h) - 8 f(-h) + f(-2h)) / 12h, truncation error O(h^4).
 */
export function central(f: (delta: number) => number, h: number): number {
  return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h);
}

/**
 * Largest relative error between analytic and numeric derivatives:
 * max_i |a_i - n_i| / max(|a_i|, |n_i|, floor). The floor (absolute) keeps entries that are
 * zero up to round-off from dominating.
 */
export function maxRelErr(analytic: ArrayLike<number>, numeric: ArrayLike<number>, floor = 1e-6): number {
  if (analytic.length !== numeric.length) throw new Error(`maxRelErr: ${analytic.length} vs ${numeric.length} values`);
  let worst = 0;
  for (let i = 0; i < analytic.length; i++) {
    const a = analytic[i]!;
    const n = numeric[i]!;
    if (!Number.isFinite(a) || !Number.isFinite(n)) return Infinity;
    worst = Math.max(worst, Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), floor));
  }
  return worst;
}

/** Bitwise equality of two typed arrays (so -0 !== 0 and NaN payloads count). */
export function sameBytes(a: TypedArray, b: TypedArray): boolean {
  if (a.byteLength !== b.byteLength || a.constructor !== b.constructor) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
