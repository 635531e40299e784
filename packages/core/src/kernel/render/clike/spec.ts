// What differs between the C-like targets (the CPU backend's C and CUDA C): the names of
// fixed-width types and math functions, how NaN and infinities are written, which helper
// computes Math.max / Math.min. Everything else in clike/ is the same C for both.
import type { DType } from '../../../dtype.js';

/** The spelling of one C-like target. */
export interface CLikeSpec {
  /** The backend's package name, which starts its error messages. */
  readonly who: string;
  /** Fixed-width integer types: int32, uint32, int64, uint64, uint8. */
  readonly i32: string;
  readonly u32: string;
  readonly i64: string;
  readonly u64: string;
  readonly u8: string;
  /** The double-precision math function `fn` (exp, sqrt, fabs, ...); `+ 'f'` is its float version. */
  math(fn: string): string;
  /** A NaN or infinite literal, of float32 when `f32`, else float64. */
  nonFinite(value: number, f32: boolean): string;
  /** The prelude helper computing Math.max / Math.min (NaN propagates, +0 > -0) on float dtype `t`. */
  minMax(op: 'max' | 'min', t: DType): string;
  /** Whether float `x` of dtype `t` has its sign bit set (tells -0 from +0), as a C condition. */
  signbit(x: string, t: DType): string;
  /** Exact literals of 2^-24 as a float and 2^-32 as a double (bitsToFloat's scales). */
  readonly twoPowM24f: string;
  readonly twoPowM32: string;
  /** +infinity as a double expression (negated, the start of a max reduction). */
  readonly inf: string;
  /** The bool stored from a reduction's accumulator: an int64 sum when `exact`, else a double max. */
  boolFromAcc(acc: string, exact: boolean): string;
}

/** The element type of each dtype: bool is a uint8 holding 0/1. */
export function cTypes(spec: CLikeSpec): Readonly<Record<DType, string>> {
  return { float32: 'float', float64: 'double', int32: spec.i32, bool: spec.u8 };
}
