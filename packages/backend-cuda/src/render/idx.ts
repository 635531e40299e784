// Idx -> CUDA integer expressions. Index arithmetic is 32-bit wherever every intermediate
// value provably fits (64-bit division and modulo cost tens of instructions on a GPU), else
// 64-bit; `fitsInt32` decides per kernel from the extents of its axes.
import { rangeOf, type Idx } from '@resgrad/core';

const INT32_SAFE = 2 ** 30;

/**
 * Renders an index expression. `names(a)` is the variable of axis `a`; `ext` the axis extents
 * (used to prove a dividend non-negative, so plain `/` and `%` serve; otherwise the floor
 * helpers of the prelude keep the IR's floor semantics); `wide` selects 64-bit literals.
 * Comparisons give 0/1 and `and`/`or` are bitwise on 0/1 (no side effects, no memory).
 */
export function renderIdx(e: Idx, names: (axis: number) => string, ext: readonly number[], wide: boolean): string {
  const ll = wide ? 'LL' : '';
  const r = (x: Idx): string => {
    switch (x.op) {
      case 'axis':
        return names(x.axis);
      case 'const':
        return x.value < 0 ? `(${x.value}${ll})` : `${x.value}${ll}`;
      case 'add':
        return `(${r(x.a)} + ${r(x.b)})`;
      case 'mul':
        return `(${r(x.a)} * ${r(x.b)})`;
      case 'div':
        return rangeOf(x.a, ext).lo >= 0 ? `(${r(x.a)} / ${x.b}${ll})` : `rg_floordiv(${r(x.a)}, ${x.b}${ll})`;
      case 'mod':
        return rangeOf(x.a, ext).lo >= 0 ? `(${r(x.a)} % ${x.b}${ll})` : `rg_floormod(${r(x.a)}, ${x.b}${ll})`;
      case 'lt':
        return `(${r(x.a)} < ${r(x.b)})`;
      case 'ge':
        return `(${r(x.a)} >= ${r(x.b)})`;
      case 'eq':
        return `(${r(x.a)} == ${r(x.b)})`;
      case 'and':
        return `(${r(x.a)} & ${r(x.b)})`;
      case 'or':
        return `(${r(x.a)} | ${r(x.b)})`;
    }
  };
  return r(e);
}

/** Whether every node of `e` stays within +-2^30 over the axes' ranges (so `int` is safe). */
export function fitsInt32(e: Idx, ext: readonly number[]): boolean {
  const { lo, hi } = rangeOf(e, ext);
  if (!(lo > -INT32_SAFE && hi < INT32_SAFE)) return false;
  switch (e.op) {
    case 'axis':
    case 'const':
      return true;
    case 'div':
    case 'mod':
      return fitsInt32(e.a, ext);
    default:
      return fitsInt32(e.a, ext) && fitsInt32(e.b, ext);
  }
}

/** Whether a count (an index space's size) leaves room for grid-stride increments in `int`. */
export const countFitsInt32 = (n: number): boolean => n < INT32_SAFE;
