// PRNG: counter-based keys (threefry2x32), functional splitting, and the distributions.
// Statistical checks use 10^5 samples with loose bounds; keys are fixed, so they are deterministic.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { jit, max, mean, min, random, registerBackend, referenceBackend, sum, tensor, threefry2x32, variance, type Tensor } from '@resgrad/core';

const bits = (t: Tensor) => Array.from(t.data());
const keyStr = (k: Tensor) => bits(k).join(',');

describe('keys', () => {
  it('key(seed) is an int32[2] of the seed split into high and low words', () => {
    const k = random.key(42);
    expect(k.dtype).toBe('int32');
    expect(k.shape).toEqual([2]);
    expect(bits(k)).toEqual([0, 42]);
    expect(bits(random.key(2 ** 40 + 5))).toEqual([256, 5]);
  });

  it('the same key gives the same bits, every time', () => {
    const a = random.uniform(random.key(7), [64]);
    const b = random.uniform(random.key(7), [64]);
    expect(bits(a)).toEqual(bits(b));
    expect(bits(random.normal(random.key(7), [16]))).toEqual(bits(random.normal(random.key(7), [16])));
  });

  it('different seeds give different bits', () => {
    expect(bits(random.uniform(random.key(0), [8]))).not.toEqual(bits(random.uniform(random.key(1), [8])));
  });

  it('a prefix of a larger draw equals the smaller draw (counter-based)', () => {
    const k = random.key(3);
    expect(bits(random.uniform(k, [5]))).toEqual(bits(random.uniform(k, [10])).slice(0, 5));
  });

  it('split gives distinct keys, different from the parent, deterministically', () => {
    const k = random.key(0);
    const ks = random.split(k, 5);
    expect(ks).toHaveLength(5);
    const strs = ks.map(keyStr);
    expect(new Set([...strs, keyStr(k)]).size).toBe(6);
    expect(random.split(k, 5).map(keyStr)).toEqual(strs);
    for (const s of ks) expect(s.shape).toEqual([2]);
    // split(k, 2) is a prefix of split(k, 5): both read the same counters.
    expect(random.split(k, 2).map(keyStr)).toEqual(strs.slice(0, 2));
    // Draws from split keys differ.
    expect(bits(random.uniform(ks[0]!, [8]))).not.toEqual(bits(random.uniform(ks[1]!, [8])));
  });

  it('split keys are the threefry2x32 words of the parent key', () => {
    const k = random.key(9);
    const [a] = random.split(k, 1);
    const w = (i: number) => threefry2x32(0, 9, 0, i)[0] | 0;
    expect(bits(a!)).toEqual([w(0), w(1)]);
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 31 }), fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 32 - 2 }), { minLength: 2, maxLength: 6 })])(
    'foldIn differs per data and is deterministic',
    (seed, data) => {
      const k = random.key(seed);
      const folded = data.map((d) => keyStr(random.foldIn(k, d)));
      expect(new Set(folded).size).toBe(data.length);
      expect(folded).not.toContain(keyStr(k));
      expect(data.map((d) => keyStr(random.foldIn(k, d)))).toEqual(folded);
    },
  );

  it('foldIn is not split: foldIn(k, 0) differs from both split keys', () => {
    const k = random.key(5);
    const f = keyStr(random.foldIn(k, 0));
    for (const s of random.split(k)) expect(keyStr(s)).not.toBe(f);
  });
});

describe('distributions', () => {
  const N = 100_000;
  const k = random.key(20261129);

  it('uniform is in [0, 1) with mean 1/2 and variance 1/12', () => {
    const u = random.uniform(k, [N], { dtype: 'float64' });
    expect(min(u).item()).toBeGreaterThanOrEqual(0);
    expect(max(u).item()).toBeLessThan(1);
    expect(Math.abs(mean(u).item() - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance(u).item() - 1 / 12)).toBeLessThan(0.002);
    // Roughly uniform histogram over 10 bins.
    const d = u.data();
    const hist = new Array<number>(10).fill(0);
    for (const v of d) hist[Math.floor(v * 10)]!++;
    for (const h of hist) expect(Math.abs(h - N / 10)).toBeLessThan(600);
  });

  it('uniform float32 is in [0, 1) too, with minval/maxval scaling', () => {
    const u = random.uniform(k, [N]);
    expect(u.dtype).toBe('float32');
    expect(min(u).item()).toBeGreaterThanOrEqual(0);
    expect(max(u).item()).toBeLessThan(1);
    const s = random.uniform(k, [N], { minval: -2, maxval: 5 });
    expect(min(s).item()).toBeGreaterThanOrEqual(-2);
    expect(max(s).item()).toBeLessThan(5);
    expect(Math.abs(mean(s).item() - 1.5)).toBeLessThan(0.05);
  });

  it('float32 and float64 uniforms come from the same bits', () => {
    const u32 = random.uniform(k, [1000]).data();
    const u64 = random.uniform(k, [1000], { dtype: 'float64' }).data();
    for (let i = 0; i < u32.length; i++) {
      // float32 keeps the top 24 of the 32 bits float64 uses.
      expect(u32[i]!).toBeLessThanOrEqual(u64[i]!);
      expect(u64[i]! - u32[i]!).toBeLessThan(2 ** -24);
    }
  });

  it('normal has mean 0 and standard deviation 1; mean/std options shift and scale', () => {
    const n = random.normal(k, [N], { dtype: 'float64' });
    expect(n.dtype).toBe('float64');
    expect(Math.abs(mean(n).item())).toBeLessThan(0.015);
    expect(Math.abs(Math.sqrt(variance(n).item()) - 1)).toBeLessThan(0.015);
    // About 68.3% within one standard deviation, 95.4% within two.
    const d = n.data();
    let one = 0;
    let two = 0;
    for (const v of d) {
      if (Math.abs(v) < 1) one++;
      if (Math.abs(v) < 2) two++;
    }
    expect(Math.abs(one / N - 0.6827)).toBeLessThan(0.01);
    expect(Math.abs(two / N - 0.9545)).toBeLessThan(0.005);
    expect(d.every(Number.isFinite)).toBe(true);
    const m = random.normal(k, [N], { mean: 10, std: 0.5 });
    expect(Math.abs(mean(m).item() - 10)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(variance(m).item()) - 0.5)).toBeLessThan(0.01);
  });

  it('bernoulli is true at rate p', () => {
    for (const p of [0, 0.3, 1]) {
      const b = random.bernoulli(k, p, [N]);
      expect(b.dtype).toBe('bool');
      expect(Math.abs(mean(b).item() - p)).toBeLessThan(0.01);
    }
  });

  it('randint stays in [minval, maxval) and hits every value', () => {
    const r = random.randint(k, [10_000], -3, 7);
    expect(r.dtype).toBe('int32');
    const seen = new Set(r.data());
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6]);
    // Counts are roughly equal.
    const counts = new Map<number, number>();
    for (const v of r.data()) counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
    // A range of one value gives that value.
    expect(new Set(random.randint(k, [100], 4, 5).data())).toEqual(new Set([4]));
  });

  test.prop([fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 60 })])('permutation is a permutation of 0..n-1', (seed, n) => {
    const p = random.permutation(random.key(seed), n);
    expect(p.dtype).toBe('int32');
    expect(p.shape).toEqual([n]);
    expect([...p.data()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('permutations differ by key and shuffle (not the identity)', () => {
    const a = bits(random.permutation(random.key(1), 50));
    const b = bits(random.permutation(random.key(2), 50));
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(bits(random.permutation(random.key(1), 50))).toEqual(a);
  });

  it('shapes: any rank, empty shapes', () => {
    expect(random.uniform(k, [2, 3, 4]).shape).toEqual([2, 3, 4]);
    expect(random.normal(k, []).shape).toEqual([]);
    expect(random.uniform(k, [0]).size).toBe(0);
    expect(sum(random.bernoulli(k, 0.5, [0])).item()).toBe(0);
  });
});

describe('under jit and across backends', () => {
  it('jitted random draws give the same bits as eager ones', () => {
    const k = random.key(11);
    const draws = (key: Tensor) => {
      const [a, b, c] = random.split(key, 3);
      return {
        u: random.uniform(a!, [5, 3]),
        n: random.normal(b!, [7], { dtype: 'float64' }),
        b: random.bernoulli(c!, 0.4, [9]),
        r: random.randint(random.foldIn(key, 3), [6], 0, 100),
      };
    };
    const eager = draws(k);
    const jitted = jit(draws)(k);
    for (const name of ['u', 'n', 'b', 'r'] as const) {
      expect(jitted[name].dtype).toBe(eager[name].dtype);
      expect(bits(jitted[name])).toEqual(bits(eager[name]));
    }
  });

  it('the key can be a traced argument: one compilation serves every key', () => {
    const f = jit((key: Tensor) => random.uniform(key, [4]));
    const a = f(random.key(1));
    const b = f(random.key(2));
    expect(f.cacheSize).toBe(1);
    expect(bits(a)).toEqual(bits(random.uniform(random.key(1), [4])));
    expect(bits(b)).toEqual(bits(random.uniform(random.key(2), [4])));
  });

  it('another backend gives the same bits', () => {
    registerBackend({ name: 'reference-copy-random', priority: -10, load: () => ({ ...referenceBackend, name: 'reference-copy-random' }) });
    const k2 = random.key(13, { backend: 'reference-copy-random' });
    expect(k2.backend.name).toBe('reference-copy-random');
    expect(bits(random.normal(k2, [8]))).toEqual(bits(random.normal(random.key(13), [8])));
  });
});

describe('bad arguments', () => {
  it('name the op and what was expected', () => {
    expect(() => random.key(-1)).toThrow(/key: seed must be a non-negative safe integer, got -1/);
    expect(() => random.key(1.5)).toThrow(/key: seed/);
    expect(() => random.uniform(tensor([1, 2]), [3])).toThrow(/uniform: expected a PRNG key \(int32\[2\] from key\(seed\)\), got float32\[2\]/);
    expect(() => random.split(random.key(0), 0)).toThrow(/split: n must be a positive integer, got 0/);
    expect(() => random.foldIn(random.key(0), -1)).toThrow(/foldIn: data must be an integer/);
    expect(() => random.bernoulli(random.key(0), 1.5, [2])).toThrow(/bernoulli: p must be in \[0, 1\], got 1.5/);
    expect(() => random.randint(random.key(0), [2], 5, 5)).toThrow(/randint: expected integers minval < maxval.*\[5, 5\)/);
    expect(() => random.normal(random.key(0), [2, -1])).toThrow(/normal: expected a shape of non-negative integers, got \[2, -1\]/);
    expect(() => random.uniform(random.key(0), [2], { minval: 1, maxval: 0 })).toThrow(/uniform: maxval 0 is below minval 1/);
    expect(() => random.permutation(random.key(0), -2)).toThrow(/permutation: n must be a non-negative integer, got -2/);
  });
  it('permutation inside jit says it runs on the host', () => {
    expect(() => jit((k: Tensor) => random.permutation(k, 4))(random.key(0))).toThrow(/permutation: .*cannot be used inside jit/);
  });
});
