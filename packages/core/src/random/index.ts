import { check, fail } from '../errors.js';
import { add, mul, neg } from '../ops/elementwise.js';
import * as P from '../ops/prim.js';
import { checkShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { tensor, type CreationOptions } from '../ops/creation.js';

/** A PRNG key: an int32[2] tensor. Keys are values: split them, never reuse one for two draws. */
export type Key = Tensor;

function checkKey(op: string, k: unknown): Tensor {
  if (!(k instanceof Tensor) || k.dtype !== 'int32' || k.shape.length !== 1 || k.shape[0] !== 2)
    fail(op, `expected a PRNG key (int32[2] from key(seed)), got ${k instanceof Tensor ? `${k.dtype}[${k.shape.join(', ')}]` : typeof k}`);
  return k;
}

/**
 * A key from an integer seed (0 <= seed < 2^53).
 *
 * @example
 * ```ts
 * const [k1, k2] = split(key(0));
 * normal(k1, [2, 3]);
 * ```
 */
export function key(seed: number, options: Pick<CreationOptions, 'backend'> = {}): Key {
  check(Number.isSafeInteger(seed) && seed >= 0, 'key', () => `seed must be a non-negative safe integer, got ${seed}`);
  const hi = Math.floor(seed / 2 ** 32) | 0;
  const lo = seed % 2 ** 32 | 0;
  return tensor(new Int32Array([hi, lo]), { ...options, shape: [2] });
}

/** `n` new independent keys from `k` (two by default). */
export function split(k: Key): [Key, Key];
export function split(k: Key, n: number): Key[];
export function split(k: Key, n = 2): Key[] {
  checkKey('split', k);
  check(Number.isInteger(n) && n >= 1, 'split', () => `n must be a positive integer, got ${n}`);
  const bits = P.reshape(P.randomBits(k, [n * 2], 0), [n, 2]);
  return Array.from({ length: n }, (_, i) => P.reshape(P.slice(bits, [i, 0], [i + 1, 2]), [2]));
}

/** A new key derived from `k` and the integer `data` (0 <= data < 2^32 - 1), e.g. a step number. */
export function foldIn(k: Key, data: number): Key {
  checkKey('foldIn', k);
  check(Number.isInteger(data) && data >= 0 && data < 2 ** 32 - 1, 'foldIn', () => `data must be an integer in [0, 2^32 - 1), got ${data}`);
  return P.randomBits(k, [2], data + 1);
}

export interface RandomOptions {
  dtype?: 'float32' | 'float64';
}

/** Uniform floats in [minval, maxval). */
export function uniform(k: Key, shape: readonly number[], options: RandomOptions & { minval?: number; maxval?: number } = {}): Tensor {
  checkKey('uniform', k);
  checkShape('uniform', shape);
  const dtype = options.dtype ?? 'float32';
  const [lo, hi] = [options.minval ?? 0, options.maxval ?? 1];
  check(hi >= lo, 'uniform', () => `maxval ${hi} is below minval ${lo}`);
  const u = P.bitsToFloat(P.randomBits(k, shape, 0), dtype);
  return lo === 0 && hi === 1 ? u : add(mul(u, hi - lo), lo);
}

/** Normal samples (Box-Muller on two uniform streams) with the given mean and standard deviation. */
export function normal(k: Key, shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkKey('normal', k);
  checkShape('normal', shape);
  const dtype = options.dtype ?? 'float32';
  const [k1, k2] = split(k);
  // u1 in (0, 1] so log(u1) is finite.
  const u1 = neg(add(P.bitsToFloat(P.randomBits(k1!, shape, 0), dtype), -1));
  const u2 = P.bitsToFloat(P.randomBits(k2!, shape, 0), dtype);
  const r = P.sqrt(mul(P.log(u1), -2));
  const z = mul(r, P.cos(mul(u2, 2 * Math.PI)));
  const std = options.std ?? 1;
  const m = options.mean ?? 0;
  return std === 1 && m === 0 ? z : add(mul(z, std), m);
}

/** Bool samples, true with probability `p`. */
export function bernoulli(k: Key, p: number, shape: readonly number[]): Tensor {
  checkKey('bernoulli', k);
  check(p >= 0 && p <= 1, 'bernoulli', () => `p must be in [0, 1], got ${p}`);
  const u = uniform(k, shape);
  return P.lt(u, P.fullLike(u, p));
}

/** Integers uniform in [minval, maxval), as int32. */
export function randint(k: Key, shape: readonly number[], minval: number, maxval: number): Tensor {
  checkKey('randint', k);
  check(Number.isInteger(minval) && Number.isInteger(maxval) && maxval > minval && maxval - minval <= 2 ** 24, 'randint', () =>
    `expected integers minval < maxval with a range of at most 2^24, got [${minval}, ${maxval})`,
  );
  const u = P.bitsToFloat(P.randomBits(k, shape, 0), 'float32');
  // floor(u * range) < range because u < 1 and the range is exactly representable.
  const i = P.cast(mul(u, maxval - minval), 'int32');
  return add(i, minval);
}

/**
 * A random permutation of 0..n-1 (int32), from sorting n random words. Runs on the host, so
 * it cannot be used inside jit/grad.
 */
export function permutation(k: Key, n: number): Tensor {
  checkKey('permutation', k);
  check(Number.isInteger(n) && n >= 0, 'permutation', () => `n must be a non-negative integer, got ${n}`);
  check(!k.isTracer, 'permutation', () => 'runs on the host and cannot be used inside jit/grad/vjp; draw the permutation outside and pass it in');
  const bits = P.randomBits(k, [n], 0).data() as Int32Array;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => (bits[a]! >>> 0) - (bits[b]! >>> 0) || a - b);
  return tensor(Int32Array.from(idx), { backend: k.backend });
}
