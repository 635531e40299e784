import { describe, expect, it } from 'vitest';
import { add, grad, jit, mul, sum, tensor, threefry2x32 } from '@resgrad/core';

describe('smoke', () => {
  it('adds with broadcasting', () => {
    expect(add(tensor([[1, 2], [3, 4]]), 1).toArray()).toEqual([[2, 3], [4, 5]]);
  });
  it('differentiates x.x', () => {
    expect(grad((x: ReturnType<typeof tensor>) => sum(mul(x, x)))(tensor([1, 2, 3])).toArray()).toEqual([2, 4, 6]);
  });
  it('jit equals eager', () => {
    const f = (a: ReturnType<typeof tensor>) => mul(add(a, 1), a);
    expect(jit(f)(tensor([1, 2])).toArray()).toEqual(f(tensor([1, 2])).toArray());
  });
  // Known-answer vectors of Threefry-2x32-20 (Random123 distribution, kat_vectors).
  it('threefry matches the published test vectors', () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefry2x32(-1, -1, -1, -1)).toEqual([0x1cb996fc, 0xbb002be7]);
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([0xc4923a9c, 0x483df7a0]);
  });
});
