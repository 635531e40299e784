// The statement half of a renderer: how one target language declares locals, branches on a
// condition and prints index arithmetic. The expression walker (scope.ts) emits SSA code
// through these hooks only, so C, CUDA C and WGSL share one walker.
import type { DType } from '../../dtype.js';

/**
 * How index expressions are spelled. The IR's index values are integers; its comparisons and
 * `and`/`or` are conditions that mean 0/1 where an integer is wanted. A target with a
 * distinct boolean type (WGSL) converts between the two; in C they are the same integers.
 */
export interface IndexSyntax {
  /** An integer constant of the index type (also the divisor of div/mod, always positive). */
  literal(value: number): string;
  /** The connectives of conditions. Operands have no side effects and touch no memory, so
   *  C's non-short-circuit `&` and `|` (branch-free: loops stay vectorisable) are as good. */
  readonly and: string;
  readonly or: string;
  /** A condition where an integer 0/1 is wanted. */
  toInt(cond: string): string;
  /** An integer where a condition is wanted (non-zero is true). */
  toCond(int: string): string;
  /** A constant condition; by default `toCond(literal(value))`. */
  boolLiteral?(value: number): string;
}

/** How one target language spells the statements of an expression's SSA form. */
export interface Syntax {
  /** The backend's package name, which starts its error messages. */
  readonly who: string;
  readonly index: IndexSyntax;
  /** The type of `dtype`'s values; throws where the target has none (`what` names the node). */
  type(dtype: DType, what: string): string;
  /** A read-only local `name` of type `type` holding `value`. */
  define(name: string, type: string, value: string): string;
  /** A mutable local, assigned by both branches of the `if` that follows. */
  declare(name: string, type: string): string;
  /** The opening line of `if (cond) {`; the walker closes it with `} else {` and `}`. */
  branch(cond: string): string;
  /**
   * Local `name` holding `at` (a memory read) where `cond` holds and `fill` elsewhere. Memory
   * is touched only where `cond` holds: an invalid index may point outside the buffer.
   */
  guardedLoad(name: string, type: string, cond: string, at: string, fill: string): string[];
  /** The int32 expression of word 0 of Threefry-2x32-20 on int32 keys and index counter. */
  threefry(key0: string, key1: string, stream: number, counter: string): string;
}
