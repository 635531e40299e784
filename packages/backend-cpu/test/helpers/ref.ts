// Test helpers: random arrays, the core reference implementations, and an error measure.
import { primitives, type ConvParams, type DType, type RefArray } from '@resgrad/core';

export type F = Float32Array | Float64Array;

/** Deterministic values in [-1, 1) from an integer seed (xorshift), so fast-check controls them. */
export function randomArray(n: number, seed: number, dtype: 'float32' | 'float64'): F {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

export const ref = (data: F, shape: readonly number[]): RefArray => ({ data, shape, dtype: (data instanceof Float32Array ? 'float32' : 'float64') as DType });
const absOf = (r: RefArray): RefArray => ({ ...r, data: (r.data as F).map(Math.abs) });

/**
 * max_i |got_i - want_i| / bound_i, where bound = the same bilinear op applied to |inputs|
 * (the sum of the magnitudes of the terms): floating-point summation error is at most
 * about K * eps times that, whatever the cancellation, so this is a fair relative error.
 */
export function bilinearError(got: ArrayLike<number>, want: ArrayLike<number>, bound: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / Math.max(bound[i]!, 1e-30);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

type Lib = 'dot' | 'conv2d' | 'conv2dInputGrad' | 'conv2dWeightGrad';

/** Core's reference result and the |.| bound for one library primitive. */
export function reference<P extends Lib>(prim: P, a: RefArray, b: RefArray, params: Parameters<(typeof primitives)[P]['reference']>[1]) {
  const def = primitives[prim] as { shape(i: RefArray[], p: unknown): { shape: readonly number[]; dtype: DType }; reference(i: RefArray[], p: unknown, o: unknown): ArrayLike<number> };
  const out = def.shape([a, b], params);
  // Reference in float64 whatever the input dtype: the oracle should not carry float32 error.
  const up = (r: RefArray): RefArray => ({ ...r, data: Float64Array.from(r.data as F), dtype: 'float64' });
  const o64 = { shape: out.shape, dtype: 'float64' as DType };
  return {
    shape: out.shape,
    want: Float64Array.from(def.reference([up(a), up(b)], params, o64)),
    bound: Float64Array.from(def.reference([absOf(up(a)), absOf(up(b))], params, o64)),
  };
}

export type { ConvParams };
