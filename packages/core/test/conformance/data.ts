// Seeded host data of the conformance suite: the same generator on every backend (and in the
// WebGPU backend's own tests), so a failure reproduces across backends.
import type { DType, TypedArray } from '@resgrad/core';
import { rng } from '../gradcheck.js';

const SPECIAL_F = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 3e38, -1e-30, 2.5, -2.5, 1e10];
const SPECIAL_I = [0, 1, -1, 2, -2, 7, -7, 2147483647, -2147483648, 65536, 46341];

/** Random host data of `dtype`, with special values mixed in when `special`. */
export function randomData(dtype: DType, n: number, seed: number, opts: { special?: boolean; positive?: boolean } = {}): TypedArray {
  const r = rng(seed);
  const out =
    dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (dtype === 'bool') out[i] = u < 0.5 ? 1 : 0;
    else if (dtype === 'int32') out[i] = opts.special && u < 0.3 ? SPECIAL_I[Math.floor(r() * SPECIAL_I.length)]! : Math.floor(r() * 41) - 20;
    else if (opts.special && u < 0.25) out[i] = SPECIAL_F[Math.floor(r() * SPECIAL_F.length)]!;
    else out[i] = opts.positive ? 0.05 + r() * 4 : r() * 8 - 4;
  }
  return out;
}
