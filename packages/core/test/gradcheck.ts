// Shared helpers of the gradient-correctness suites (grad-primitives, conv-pool): host arrays,
// a seeded value generator, random shapes, central finite differences and error measures.
// Everything here works in float64 on plain typed arrays, independently of the library.
import fc from 'fast-check';
import { type DType, type Tensor, tensor, type TypedArray } from '@resgrad/core';

/** A concrete array on the host, in the layout the primitives' reference implementations use. */
export interface Host {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: TypedArray;
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function host(shape: readonly number[], data: TypedArray, dtype: DType = 'float64'): Host {
  if (data.length !== sizeOf(shape)) throw new Error(`host: ${data.length} values for shape [${shape}]`);
  return { shape: [...shape], dtype, data };
}

/** The tensor of a host array, on the reference backend. */
export const toTensor = (h: Host): Tensor => tensor(h.data, { shape: h.shape, dtype: h.dtype, backend: 'reference' });

export const f64 = (t: Tensor): Float64Array => {
  if (t.dtype !== 'float64') throw new Error(`expected a float64 tensor, got ${t.dtype}[${t.shape}]`);
  return t.data() as Float64Array;
};

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

/** Samplers of one value from a uniform draw r() in [0, 1). */
export type Sampler = (r: () => number) => number;
export const uniform = (lo: number, hi: number): Sampler => (r) => lo + (hi - lo) * r();
/** |x| in [lo, hi] with a random sign: keeps away from the kink of abs/sign at 0. */
export const awayFromZero = (lo: number, hi: number): Sampler => (r) => (r() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r());

export function fill(shape: readonly number[], seed: number, sample: Sampler = uniform(-1, 1)): Host {
  const r = rng(seed);
  const d = new Float64Array(sizeOf(shape));
  for (let i = 0; i < d.length; i++) d[i] = sample(r);
  return host(shape, d);
}

/**
 * Pairwise distinct values, at least `gap` apart: a random permutation of 0, gap, 2 gap, ...
 * shifted by a common offset plus a jitter below gap/4. No ties, so max/reduceMax/maxPool are
 * differentiable there and finite differences with a small step do not cross a kink.
 */
export function distinct(shape: readonly number[], seed: number, gap = 0.05): Host {
  const r = rng(seed);
  const n = sizeOf(shape);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const off = -gap * n * r();
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = off + perm[i]! * gap + 0.25 * gap * r();
  return host(shape, d);
}

/** Seeds of the value generator (unbiased: fast-check's bias towards small integers would repeat data). */
export const seedArb = fc.noBias(fc.integer({ min: 0, max: 0x7fffffff }));

/**
 * Shapes of rank in [minRank, maxRank] (picked uniformly) with dims in [minDim, maxDim], size-1
 * dims included.
 */
export const shapeArb = (minRank = 0, maxRank = 3, maxDim = 4, minDim = 1) =>
  fc
    .noBias(fc.integer({ min: minRank, max: maxRank }))
    .chain((r) => fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: r, maxLength: r }));

export function dotArr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Sum of |a_i b_i|: the scale against which the rounding error of <a, b> is measured. */
export function absDot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! * b[i]!);
  return s;
}

/**
 * Element-wise relative error of `got` against `want`: max_j |got_j - want_j| / max(|got_j|,
 * |want_j|, 1e-3 max_k |want_k|). The floor keeps the measure meaningful for elements that are
 * tiny compared with the rest of the vector (where a finite difference has only absolute
 * accuracy); it is 0 when both vectors vanish.
 */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!), Math.abs(got[i]!));
  if (scale === 0) return 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (Number.isNaN(d)) return Infinity;
    err = Math.max(err, d / Math.max(Math.abs(got[i]!), Math.abs(want[i]!), 1e-3 * scale));
  }
  return err;
}

/** Step of the central difference at x: about eps^(1/3) relative to the magnitude of x. */
export const fdStep = (x: number) => 1e-5 * Math.max(1, Math.abs(x));

/**
 * The gradient of x -> <u, f(x)> with respect to every element of input `i`, by central
 * differences: (<u, f(x + h e_j)> - <u, f(x - h e_j)>) / 2h. `f` maps host inputs to the
 * (float64) output data.
 */
export function fdGrad(
  f: (inputs: readonly Host[]) => ArrayLike<number>,
  inputs: readonly Host[],
  i: number,
  u: ArrayLike<number>,
): Float64Array {
  const x = inputs[i]!;
  const g = new Float64Array(x.data.length);
  for (let j = 0; j < x.data.length; j++) {
    const x0 = x.data[j]!;
    const h = fdStep(x0);
    const at = (v: number) => {
      const d = x.data.slice() as Float64Array;
      d[j] = v;
      const ins = inputs.slice();
      ins[i] = host(x.shape, d, x.dtype);
      return dotArr(u, f(ins));
    };
    // The step actually taken, after rounding x0 +- h.
    const xp = x0 + h;
    const xm = x0 - h;
    g[j] = (at(xp) - at(xm)) / (xp - xm);
  }
  return g;
}

/** The directional derivative <u, (f(x + h v) - f(x - h v)) / 2h> along tangents `v` (null: fixed input). */
export function fdDirectional(
  f: (inputs: readonly Host[]) => ArrayLike<number>,
  inputs: readonly Host[],
  v: readonly (Float64Array | null)[],
  u: ArrayLike<number>,
): number {
  const h = 1e-5;
  const shifted = (s: number) =>
    inputs.map((x, i) => {
      const t = v[i];
      if (!t) return x;
      const d = new Float64Array(x.data.length);
      for (let j = 0; j < d.length; j++) d[j] = x.data[j]! + s * h * t[j]!;
      return host(x.shape, d, x.dtype);
    });
  return (dotArr(u, f(shifted(1))) - dotArr(u, f(shifted(-1)))) / (2 * h);
}
