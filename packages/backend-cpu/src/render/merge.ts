// Loop merging: trailing axes of a fused kernel that every index expression reads as one
// contiguous run become one loop.
//
// Why: a BatchNorm statistic over axes (0, 2, 3) of [128, 16, 32, 32] is, per channel, a
// loop nest r0 < 128, r1 < 32, r2 < 32 whose innermost loop has only 32 iterations; each one
// ends in a horizontal reduction of the vector partial sums into the scalar accumulator, and
// the loop overhead is paid 4096 times per channel. Every index reads r1 and r2 only as
// `32*c*r1 + c*r2` (= c*(32*r1 + r2)), so the two loops are one loop of 1024 iterations,
// measured 4x faster. Elementwise kernels likewise walk rows of 32 (or 8) elements; merging
// their trailing output axes gives long rows the compiler vectorises with fewer remainders.
//
// Rule: axes g..last (consecutive, extents E_g..E_last) merge into one axis m of extent
// prod(E) when every index expression that mentions any of them is affine (sums of constant
// multiples of axes, plus a constant) with coef(axis i) = coef(last) * prod(E_{i+1..last}).
// Then sum_i coef(i)*axis_i = coef(last) * m with m the row-major flat index of the group,
// so substituting axis_last := m and the other group axes := 0 leaves every index unchanged.
// Expressions that use a group axis in a comparison, div or mod (padding, concat) block it.
import { idxOperands, type Idx } from '@resgrad/core';

/** The affine form of `e` (axis -> coefficient; key -1 is the constant), or null. */
export function affine(e: Idx): Map<number, number> | null {
  switch (e.op) {
    case 'axis':
      return new Map([[e.axis, 1]]);
    case 'const':
      return new Map([[-1, e.value]]);
    case 'add': {
      const a = affine(e.a);
      const b = affine(e.b);
      if (!a || !b) return null;
      for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
      return a;
    }
    case 'mul': {
      const a = affine(e.a);
      const b = affine(e.b);
      if (!a || !b) return null;
      const constOf = (m: Map<number, number>) => ([...m].every(([k, v]) => k === -1 || v === 0) ? (m.get(-1) ?? 0) : null);
      const ca = constOf(a);
      const cb = constOf(b);
      if (ca === null && cb === null) return null;
      const [f, m] = ca !== null ? [ca, b] : [cb!, a];
      return new Map([...m].map(([k, v]) => [k, v * f]));
    }
    default:
      return null;
  }
}

function mentions(e: Idx, axes: ReadonlySet<number>): boolean {
  return e.op === 'axis' ? axes.has(e.axis) : idxOperands(e).some((x) => mentions(x, axes));
}

/**
 * The first axis g of the longest mergeable trailing group of axes [first, first+n) (extents
 * `ext`, indexed by axis), or first+n-1 when nothing merges.
 */
export function trailingGroup(idxs: readonly Idx[], first: number, n: number, ext: readonly number[]): number {
  const last = first + n - 1;
  let g = last;
  while (g > first && canMerge(idxs, g - 1, last, ext)) g--;
  return g;
}

function canMerge(idxs: readonly Idx[], g: number, last: number, ext: readonly number[]): boolean {
  const group = new Set<number>();
  for (let a = g; a <= last; a++) group.add(a);
  for (const e of idxs) {
    if (!mentions(e, group)) continue;
    const f = affine(e);
    if (!f) return false;
    let stride = f.get(last) ?? 0;
    for (let a = last - 1; a >= g; a--) {
      stride *= ext[a + 1]!;
      if ((f.get(a) ?? 0) !== stride) return false;
    }
  }
  return true;
}
