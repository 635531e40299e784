// Tensors: creation, dtypes and casts, NumPy broadcasting, reading values back, printing, and
// the weak typing of JS numbers (as in JAX).
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  add, arange, cast, div, equal, eye, full, less, linspace, maximum, mean, mul, neg, ones, pow, reshape, sub, sum,
  tensor, where, zeros, exp, max, Tensor, type DType,
} from '@resgrad/core';

describe('creation', () => {
  it('tensor() infers the shape of nested arrays; float32 by default, bool for booleans', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.size).toBe(6);
    expect(t.rank).toBe(2);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const b = tensor([[true], [false]]);
    expect(b.dtype).toBe('bool');
    expect(b.shape).toEqual([2, 1]);
    expect(b.toArray()).toEqual([[true], [false]]);
  });

  it('scalars, empty arrays and explicit shapes', () => {
    expect(tensor(3).shape).toEqual([]);
    expect(tensor(3).toArray()).toBe(3);
    expect(tensor(true).dtype).toBe('bool');
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor([[], []]).toArray()).toEqual([[], []]);
    expect(tensor([1, 2, 3, 4], { shape: [2, 2] }).toArray()).toEqual([[1, 2], [3, 4]]);
  });

  it('typed arrays give their own dtype; shape reshapes them', () => {
    const i = tensor(new Int32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor(new Float64Array([0.1])).dtype).toBe('float64');
    expect(tensor(new Float64Array([0.1])).item()).toBe(0.1);
    expect(tensor(new Float32Array([1, 2])).dtype).toBe('float32');
    // The typed array is copied: later writes to it do not change the tensor.
    const src = new Float32Array([1, 2]);
    const t = tensor(src);
    src[0] = 99;
    expect(t.toArray()).toEqual([1, 2]);
    // float32 data converted to float64 keeps the float32 value.
    expect(tensor(new Float32Array([0.1]), { dtype: 'float64' }).item()).toBe(Math.fround(0.1));
  });

  it('a Uint8Array becomes a bool tensor holding exactly 0 and 1', () => {
    const b = tensor(new Uint8Array([0, 1, 2, 255]));
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.data())).toEqual([0, 1, 1, 1]);
    expect(sum(b).item()).toBe(3);
    expect(cast(b, 'int32').toArray()).toEqual([0, 1, 1, 1]);
    expect(equal(b, true).toArray()).toEqual([false, true, true, true]);
  });

  it('zeros, ones, full with dtypes', () => {
    expect(zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(zeros([2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(ones([3]).toArray()).toEqual([1, 1, 1]);
    expect(ones([2], { dtype: 'bool' }).toArray()).toEqual([true, true]);
    expect(full([2, 1], 7.5).toArray()).toEqual([[7.5], [7.5]]);
    expect(full([2], true).dtype).toBe('bool');
    expect(full([], 3).shape).toEqual([]);
    expect(full([2], 2.7, { dtype: 'int32' }).toArray()).toEqual([2, 2]);
    expect(full([2], 0.1, { dtype: 'float64' }).toArray()).toEqual([0.1, 0.1]);
    expect(zeros([0, 3]).size).toBe(0);
  });

  it('arange: int32 for integer arguments, float32 otherwise, NumPy semantics', () => {
    const a = arange(5);
    expect(a.dtype).toBe('int32');
    expect(a.toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(2, 5).toArray()).toEqual([2, 3, 4]);
    expect(arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(arange(0).toArray()).toEqual([]);
    expect(arange(3, 1).toArray()).toEqual([]);
    const f = arange(1, 2, 0.25);
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arange(3, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
  });

  it('linspace includes both ends; eye is the identity', () => {
    expect(linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linspace(3, 7, 1).toArray()).toEqual([3]);
    expect(linspace(0, 1, 0).shape).toEqual([0]);
    expect(linspace(0, 1, 3, { dtype: 'float64' }).dtype).toBe('float64');
    expect(eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(eye(2, 2, { dtype: 'int32' }).dtype).toBe('int32');
  });

  it('the shape is frozen', () => {
    const t = tensor([1, 2]);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(() => (t.shape as number[]).push(3)).toThrow();
  });
});

describe('dtypes and casts', () => {
  it('float32 storage rounds; float64 keeps every bit', () => {
    expect(tensor([0.1]).item()).toBe(Math.fround(0.1));
    expect(tensor([0.1], { dtype: 'float64' }).item()).toBe(0.1);
  });

  it('float -> int32 truncates toward zero; NaN and infinities give 0', () => {
    const x = tensor([1.7, -1.7, 2.5, -0.5, 0.9999, NaN, Infinity], { dtype: 'float64' });
    expect(cast(x, 'int32').toArray()).toEqual([1, -1, 2, 0, 0, 0, 0]);
    expect(tensor([1.7, -1.7], { dtype: 'int32' }).toArray()).toEqual([1, -1]);
  });

  it('-> bool is "non-zero and not NaN"; bool -> numbers is 0/1', () => {
    expect(cast(tensor([0, -0, 0.1, NaN, -3]), 'bool').toArray()).toEqual([false, false, true, false, true]);
    expect(tensor([0, 2, -1], { dtype: 'bool' }).toArray()).toEqual([false, true, true]);
    expect(cast(tensor([true, false]), 'float32').toArray()).toEqual([1, 0]);
    expect(cast(tensor([true, false]), 'int32').toArray()).toEqual([1, 0]);
  });

  it('int32 -> float32 rounds to the nearest float32; float64 round trip is exact', () => {
    expect(cast(tensor([16777217], { dtype: 'int32' }), 'float32').item()).toBe(16777216);
    expect(cast(tensor([16777217], { dtype: 'int32' }), 'float64').item()).toBe(16777217);
    const x = tensor([Math.PI], { dtype: 'float64' });
    expect(cast(cast(x, 'float32'), 'float64').item()).toBe(Math.fround(Math.PI));
  });

  it('casting to the same dtype is the identity', () => {
    const x = tensor([1, 2]);
    expect(cast(x, 'float32')).toBe(x);
  });

  const dtypes: DType[] = ['float32', 'float64', 'int32', 'bool'];
  test.prop([fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 20 }), fc.constantFrom(...dtypes), fc.constantFrom(...dtypes)])(
    'cast of small integers through any dtype agrees with the JS conversion',
    (values, from, to) => {
      const x = tensor(values, { dtype: from });
      const conv = (v: number, d: DType) => (d === 'bool' ? (v !== 0 ? 1 : 0) : v);
      const expected = values.map((v) => conv(conv(v, from), to));
      const got = Array.from(cast(x, to).data());
      expect(got).toEqual(expected);
    },
  );
});

describe('NumPy broadcasting', () => {
  it('column + row gives a matrix', () => {
    expect(add(reshape(arange(3), [3, 1]), arange(4)).toArray()).toEqual([
      [0, 1, 2, 3],
      [1, 2, 3, 4],
      [2, 3, 4, 5],
    ]);
  });

  it('result shapes', () => {
    expect(mul(ones([2, 1, 3]), ones([4, 1])).shape).toEqual([2, 4, 3]);
    expect(add(tensor(1), ones([2, 3])).shape).toEqual([2, 3]);
    expect(add(zeros([0, 3]), ones([1, 3])).shape).toEqual([0, 3]);
    expect(sub(ones([5, 1, 1]), ones([1, 6, 1])).shape).toEqual([5, 6, 1]);
  });

  const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 });
  test.prop([shapeArb, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 3 })])(
    'add(a, b)[i] = a[i mod shape] + b[i mod shape] for broadcastable shapes',
    (full, ones1, drop) => {
      const sa = full.map((d, i) => (ones1[i] ? 1 : d));
      const sb = full.slice(Math.min(drop, full.length));
      const na = sa.reduce((p, d) => p * d, 1);
      const nb = sb.reduce((p, d) => p * d, 1);
      const a = tensor(Array.from({ length: na }, (_, i) => i), { shape: sa, dtype: 'float64' });
      const b = tensor(Array.from({ length: nb }, (_, i) => 1000 * i), { shape: sb, dtype: 'float64' });
      const out = add(a, b);
      const off = full.length - sb.length;
      const expectedShape = full.map((d, k) => (sa[k] === 1 && (k < off || sb[k - off] === 1) ? 1 : d));
      expect(out.shape).toEqual(expectedShape);
      // Expected value from the NumPy rule, index by index.
      const data = out.data();
      const idxOf = (flat: number, shape: readonly number[]) => {
        const idx: number[] = [];
        for (let k = shape.length - 1; k >= 0; k--) {
          idx.unshift(flat % shape[k]!);
          flat = Math.floor(flat / shape[k]!);
        }
        return idx;
      };
      const at = (idx: number[], shape: readonly number[]) => {
        const off = idx.length - shape.length;
        let f = 0;
        shape.forEach((d, k) => (f = f * d + (d === 1 ? 0 : idx[off + k]!)));
        return f;
      };
      for (let i = 0; i < data.length; i++) {
        const idx = idxOf(i, expectedShape);
        expect(data[i]).toBe(at(idx, sa) + 1000 * at(idx, sb));
      }
    },
  );
});

describe('reading values', () => {
  it('toArray, data and item', () => {
    const t = tensor([[5]]);
    expect(t.item()).toBe(5);
    expect(tensor([true]).item()).toBe(1);
    expect(tensor(2).toArray()).toBe(2);
    const d = tensor([true, false]).data();
    expect(d).toBeInstanceOf(Uint8Array);
    expect(Array.from(d)).toEqual([1, 0]);
    expect(tensor([1], { dtype: 'int32' }).data()).toBeInstanceOf(Int32Array);
    expect(tensor([1], { dtype: 'float64' }).data()).toBeInstanceOf(Float64Array);
    expect(tensor([1]).data()).toBeInstanceOf(Float32Array);
  });

  it('data() returns a copy', () => {
    const t = tensor([1, 2, 3]);
    const d = t.data();
    d[0] = 100;
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  it('dataAsync gives the same values', async () => {
    const t = tensor([1, 2, 3], { dtype: 'float64' });
    expect(Array.from(await t.dataAsync())).toEqual([1, 2, 3]);
  });
});

describe('printing', () => {
  it('is readable: values, dtype and shape', () => {
    expect(String(tensor([[1, 2], [3, 4]]))).toBe('Tensor([[1., 2.],\n [3., 4.]], dtype=float32, shape=[2, 2])');
    expect(String(tensor([1.5, 0.1]))).toBe('Tensor([1.5, 0.1], dtype=float32, shape=[2])');
    expect(String(tensor([1, 2], { dtype: 'int32' }))).toBe('Tensor([1, 2], dtype=int32, shape=[2])');
    expect(String(tensor([true, false]))).toBe('Tensor([true, false], dtype=bool, shape=[2])');
    expect(String(tensor(3.25))).toBe('Tensor(3.25, dtype=float32, shape=[])');
    expect(String(tensor([Math.PI], { dtype: 'float64' }))).toContain('3.14159265');
    expect(String(tensor([-1, NaN, Infinity]))).toContain('NaN');
  });

  it('float32 values print without float64 noise', () => {
    // 0.1 in float32 is 0.100000001490116...; the printout shows 0.1.
    expect(String(tensor([0.1]))).not.toContain('0.1000000');
  });

  it('long tensors are elided with ...', () => {
    const s = String(arange(2000));
    expect(s).toBe('Tensor([0, 1, 2, ..., 1997, 1998, 1999], dtype=int32, shape=[2000])');
    const m = String(reshape(arange(3000), [30, 100]));
    expect(m.length).toBeLessThan(600);
    expect(m).toContain('...');
    expect(m).toContain('[2900, 2901, 2902, ..., 2997, 2998, 2999]');
    expect(m).toContain('shape=[30, 100]');
  });

  it('short tensors are printed in full', () => {
    const s = String(arange(20));
    expect(s).not.toContain('...');
    expect(s).toContain('19');
  });

  it('Node util.inspect uses the same printout', async () => {
    const { inspect } = await import('node:util');
    expect(inspect(tensor([1, 2]))).toBe(String(tensor([1, 2])));
  });
});

describe('weak typing of JS numbers', () => {
  const i = tensor([1, 2, 3], { dtype: 'int32' });
  it('int tensor + integer number stays int32', () => {
    const r = add(i, 2);
    expect(r.dtype).toBe('int32');
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(add(2, i).dtype).toBe('int32');
    expect(mul(i, true).dtype).toBe('int32');
    expect(pow(i, 2).toArray()).toEqual([1, 4, 9]);
  });
  it('int tensor + fractional number becomes float32', () => {
    const r = add(i, 2.5);
    expect(r.dtype).toBe('float32');
    expect(r.toArray()).toEqual([3.5, 4.5, 5.5]);
    expect(maximum(i, 1.5).toArray()).toEqual([1.5, 2, 3]);
  });
  it('int / int is true division in float32', () => {
    const r = div(i, tensor([2, 2, 2], { dtype: 'int32' }));
    expect(r.dtype).toBe('float32');
    expect(r.toArray()).toEqual([0.5, 1, 1.5]);
    expect(div(i, 2).dtype).toBe('float32');
  });
  it('a number takes a float tensor dtype, float64 included', () => {
    const r = add(tensor([1], { dtype: 'float64' }), 0.1);
    expect(r.dtype).toBe('float64');
    expect(r.item()).toBe(1.1);
    expect(add(tensor([1]), 1e10).dtype).toBe('float32');
  });
  it('bool arithmetic gives int32 (or float32 with a fraction)', () => {
    expect(add(tensor([true, false]), tensor([true, true])).toArray()).toEqual([2, 1]);
    expect(add(tensor([true, false]), 1).dtype).toBe('int32');
    expect(add(tensor([true, false]), 1.5).dtype).toBe('float32');
  });
  it('tensor dtypes promote: bool < int32 < float32 < float64', () => {
    expect(add(i, ones([3])).dtype).toBe('float32');
    expect(add(ones([1]), ones([1], { dtype: 'float64' })).dtype).toBe('float64');
    expect(add(tensor([true]), i).dtype).toBe('int32');
  });
  it('comparisons give bool; where keeps the weak typing', () => {
    expect(less(i, 2).toArray()).toEqual([true, false, false]);
    expect(where(tensor([true, false]), 1, tensor([5, 6], { dtype: 'int32' })).dtype).toBe('int32');
    expect(where(tensor([true, false]), 1.5, tensor([5, 6], { dtype: 'int32' })).dtype).toBe('float32');
  });
  it('float functions of ints give float32; mean of ints is float32', () => {
    expect(exp(i).dtype).toBe('float32');
    expect(mean(i).dtype).toBe('float32');
    expect(mean(i).item()).toBe(2);
    expect(sum(i).dtype).toBe('int32');
    expect(max(i).item()).toBe(3);
    expect(neg(tensor([true])).toArray()).toEqual([-1]);
  });
  it('int32 arithmetic wraps around like C', () => {
    expect(add(tensor([2147483647], { dtype: 'int32' }), 1).item()).toBe(-2147483648);
  });
});

it('Tensor is exported as a class', () => {
  expect(tensor([1])).toBeInstanceOf(Tensor);
});
