// The accumulator of a reduction in C-like code. The reference folds in float64 and rounds
// once, so: float sums accumulate in double; integer sums in int64 (exact, since the
// reference's doubles are exact below 2^53); max in double, starting at -infinity. The
// result is then rounded to the reduction's dtype exactly as the reference's ROUND does.
import type { DType } from '../../../dtype.js';
import type { Reduction } from '../../ir.js';
import type { CLikeSpec } from './spec.js';

export interface CAccumulator {
  /** The accumulator's C type. */
  readonly type: string;
  /** Its initial value: 0 for sums, -infinity for max. */
  readonly init: string;
  readonly sum: boolean;
  /** Whether it is an int64 (an integer sum), else a double. */
  readonly exact: boolean;
}

export function cAccumulator(red: Reduction, spec: CLikeSpec): CAccumulator {
  const sum = red.op === 'sum';
  const exact = sum && red.body.dtype !== 'float32' && red.body.dtype !== 'float64';
  return { type: exact ? spec.i64 : 'double', init: sum ? (exact ? '0' : '0.0') : `-${spec.inf}`, sum, exact };
}

/** Accumulator `acc` rounded to the reduction's dtype, as the reference's ROUND does. */
export function cRoundAcc(spec: CLikeSpec, acc: string, a: CAccumulator, dtype: DType): string {
  switch (dtype) {
    case 'float32':
      return `(float)${acc}`;
    case 'float64':
      return `(double)${acc}`;
    case 'int32':
      // JS `acc | 0`: wraps modulo 2^32 (and -inf, an empty max, gives 0).
      return a.exact ? `(${spec.i32})(${spec.u32})(${spec.u64})${acc}` : `rg_f2i(${acc})`;
    case 'bool':
      return spec.boolFromAcc(acc, a.exact);
  }
}
