// Comparison of a backend's result with the reference backend's. Both are read with
// `await t.dataAsync()`, which every backend supports (WebGPU has no synchronous readback).
import { expect } from 'vitest';
import type { DType, Tensor } from '@resgrad/core';

/** Tolerances of a float comparison: |got - want| <= atol + rtol * max(|want|, scale). */
export interface Tol {
  /** Relative tolerance (default `defaultRtol(dtype)`). */
  rtol?: number;
  /** Absolute tolerance (default 0). */
  atol?: number;
  /**
   * Results of long sums (matmul, conv, reductions, gradients): the error allowed is relative
   * to max(|want|, mean |want|), since rounding error scales with the terms rather than with a
   * cancelled result.
   */
  sums?: boolean;
}

/** Relative tolerance of an elementwise float result: float32 ops may differ by an ulp of a libm. */
export const defaultRtol = (dtype: DType): number => (dtype === 'float32' ? 1e-5 : dtype === 'float64' ? 1e-12 : 0);

/** Exact for int32/bool and special values (NaN equals NaN); within `tol` for finite floats. */
export async function expectMatches(got: Tensor, want: Tensor, label: string, tol: Tol = {}): Promise<void> {
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  expect(got.dtype, `${label}: dtype`).toBe(want.dtype);
  const g = await got.dataAsync();
  const w = await want.dataAsync();
  const float = want.dtype === 'float32' || want.dtype === 'float64';
  const rtol = tol.rtol ?? defaultRtol(want.dtype);
  const atol = tol.atol ?? 0;
  let scale = 0;
  if (tol.sums) {
    let n = 0;
    for (const v of w) if (Number.isFinite(v)) (scale += Math.abs(v)), n++;
    scale = n ? scale / n : 0;
  }
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const ok = float && Number.isFinite(b) && Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(b), scale, 1e-300);
    if (!ok) expect.fail(`${label}: element ${i} is ${a}, reference gives ${b}`);
  }
}
