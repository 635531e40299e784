// Seeded test data, as the shared conformance suite draws it (same generator, so failures
// reproduce across backends).
import type { DType, TypedArray } from '@resgrad/core';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL_F = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 3e38, -1e-30, 2.5, -2.5, 1e10];
const SPECIAL_I = [0, 1, -1, 2, -2, 7, -7, 2147483647, -2147483648, 65536, 46341];

/** Random host data of `dtype`, with special values mixed in when `special`. */
export function randomData(dtype: DType, n: number, seed: number, opts: { special?: boolean; positive?: boolean } = {}): TypedArray {
  const rng = mulberry32(seed);
  const out =
    dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (dtype === 'bool') out[i] = r < 0.5 ? 1 : 0;
    else if (dtype === 'int32') out[i] = opts.special && r < 0.3 ? SPECIAL_I[Math.floor(rng() * SPECIAL_I.length)]! : Math.floor(rng() * 41) - 20;
    else if (opts.special && r < 0.25) out[i] = SPECIAL_F[Math.floor(rng() * SPECIAL_F.length)]!;
    else out[i] = opts.positive ? 0.05 + rng() * 4 : rng() * 8 - 4;
  }
  return out;
}
