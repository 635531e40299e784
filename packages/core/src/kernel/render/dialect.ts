// The scalar half of a renderer: how one target language spells literals, ALU ops and the
// conversion of index values. Each backend implements one `Dialect` (C, CUDA C, WGSL); the
// expression walker (scope.ts) asks it for every scalar node and prints no value itself, so
// the semantics of kernel/alu.ts (int32 wrap-around, division by zero giving 0, float32
// rounding after every op, NaN propagation of max/min) are restated once per target, in its
// dialect, and nowhere else.
import type { DType } from '../../dtype.js';
import type { AluOp } from '../ir.js';

/** What an expression renderer needs to print scalar values in one target language. */
export interface Dialect {
  /** An expression of exactly `value` in `dtype` (the value is representable in it). */
  literal(value: number, dtype: DType): string;
  /**
   * The expression computing ALU op `op` on operand expressions `args` (already rendered as
   * locals), with result dtype `out` and operand dtype `operand` (for `where`, that of the
   * selected values).
   */
  alu(op: AluOp, args: readonly string[], out: DType, operand: DType): string;
  /** Converts an index value (the target's index integer) to `dtype` (the `index` expression). */
  fromIndex(v: string, dtype: DType): string;
}
