// The ALU dispatch every dialect shares. Comparisons, casts, `where` and `bitsToFloat` have
// one rule each (their operand kinds vary per node); the arithmetic ops are looked up in one
// table per operand kind, because their semantics differ by kind: floats follow IEEE (and
// Math.* on NaN and signed zeros), int32 wraps modulo 2^32, bool is 0/1.
import type { DType } from '../../dtype.js';
import type { AluOp } from '../ir.js';
import type { Dialect } from './dialect.js';

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** The infix operator of each comparison (C and WGSL spell them alike). */
export const COMPARE_SYMBOL: Readonly<Record<CompareOp, string>> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

const isCompare = (op: AluOp): op is CompareOp => Object.hasOwn(COMPARE_SYMBOL, op);

/**
 * One arithmetic op: operand expressions to an expression. `t` is the dtype it computes in:
 * the operand dtype for float operands (the result dtype equals it for arithmetic), the
 * result dtype for int32 and bool operands.
 */
export type AluEntry = (args: readonly string[], t: DType) => string;

/** Arithmetic ops of one operand kind; a missing op is not defined on that kind. */
export type AluTable = Partial<Record<AluOp, AluEntry>>;

/** The rules of one dialect's ALU, from which {@link aluFromRules} builds `Dialect.alu`. */
export interface AluRules {
  /** The backend's package name, which starts its error messages. */
  readonly who: string;
  /** A comparison giving bool 0/1 (`operand`: the compared values' dtype). */
  compare(op: CompareOp, a: string, b: string, operand: DType): string;
  /** `x` converted from `from` to `to` (see kernel/alu.ts for each pair). */
  cast(x: string, to: DType, from: DType): string;
  /** `cond ? a : b` with `cond` a bool 0/1; only the chosen value matters. */
  where(cond: string, a: string, b: string): string;
  /** int32 random bits to [0, 1) in float dtype `out`. */
  bitsToFloat(bits: string, out: DType): string;
  readonly float: AluTable;
  readonly int: AluTable;
  readonly bool: AluTable;
}

/** `Dialect.alu` from a dialect's rules. */
export function aluFromRules(r: AluRules): Dialect['alu'] {
  return (op, args, out, operand) => {
    if (isCompare(op)) return r.compare(op, args[0]!, args[1]!, operand);
    if (op === 'cast') return r.cast(args[0]!, out, operand);
    if (op === 'where') return r.where(args[0]!, args[1]!, args[2]!);
    if (op === 'bitsToFloat') return r.bitsToFloat(args[0]!, out);
    const table = operand === 'int32' ? r.int : operand === 'bool' ? r.bool : r.float;
    const f = table[op];
    if (!f) throw new Error(`${r.who}: no ${operand} rendering for ALU op '${op}'`);
    return f(args, operand === 'int32' || operand === 'bool' ? out : operand);
  };
}
