// The width of CUDA index arithmetic: 32-bit wherever every intermediate value provably fits
// (64-bit division and modulo cost tens of instructions on a GPU), else 64-bit; `fitsInt32`
// decides per kernel from the extents of its axes. (Printing is core's indexPrinter.)
import { idxOperands, rangeOf, type Idx } from '@resgrad/core';

const INT32_SAFE = 2 ** 30;

/** Whether every node of `e` stays within +-2^30 over the axes' ranges (so `int` is safe). */
export function fitsInt32(e: Idx, ext: readonly number[]): boolean {
  const { lo, hi } = rangeOf(e, ext);
  return lo > -INT32_SAFE && hi < INT32_SAFE && idxOperands(e).every((x) => fitsInt32(x, ext));
}

/** Whether a count (an index space's size) leaves room for grid-stride increments in `int`. */
export const countFitsInt32 = (n: number): boolean => n < INT32_SAFE;
