// The scalar semantics of every ALU op in JavaScript, as the interpreter evaluates them. They
// restate the primitives' reference implementations one element at a time: a value of
// dtype float32 is rounded after every op (Math.fround), int32 wraps, bool is 0/1, so a fused
// kernel gives the same bits as running its primitives one by one.
import type { DType } from '../dtype.js';
import { fail } from '../errors.js';
import type { AluOp } from './ir.js';

type Fn = (...args: number[]) => number;

const toInt32 = (v: number) => (Number.isFinite(v) ? v | 0 : 0);
const sign = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : v);

// Results in float64 (a float32 result is rounded afterwards).
const FLOAT: Partial<Record<AluOp, Fn>> = {
  neg: (v) => -v,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (v) => 1 / Math.sqrt(v),
  recip: (v) => 1 / v,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  abs: Math.abs,
  sign,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: Math.max,
  min: Math.min,
  pow: Math.pow,
};

const INT: Partial<Record<AluOp, Fn>> = {
  neg: (v) => -v | 0,
  abs: (v) => toInt32(Math.abs(v)),
  sign: (v) => toInt32(sign(v)),
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: Math.imul,
  // C semantics: truncation toward zero; division by zero gives 0 here (C leaves it undefined).
  div: (a, b) => (b === 0 ? 0 : Math.trunc(a / b) | 0),
  max: Math.max,
  min: Math.min,
  pow: (a, b) => toInt32(Math.pow(a, b)),
};

const COMPARE: Partial<Record<AluOp, Fn>> = {
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

const CAST: Record<DType, Fn> = {
  float32: Math.fround,
  float64: (v) => v,
  int32: (v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0),
  bool: (v) => (v !== 0 && !Number.isNaN(v) ? 1 : 0),
};

/**
 * The JS function computing ALU op `op` whose result has dtype `dtype`; `operand` is the
 * dtype of its (first non-condition) operand.
 */
export function aluFunction(op: AluOp, dtype: DType, operand: DType): Fn {
  if (op in COMPARE) return COMPARE[op]!;
  if (op === 'cast') return CAST[dtype];
  if (op === 'where') return (c, a, b) => (c ? a! : b!);
  if (op === 'bitsToFloat') return dtype === 'float32' ? (v) => (v >>> 8) * 2 ** -24 : (v) => (v >>> 0) * 2 ** -32;
  const f = operand === 'int32' ? INT[op] : FLOAT[op];
  if (!f) return fail('interpret', `no ${operand} semantics for ALU op '${op}'`);
  if (dtype === 'float32') {
    if (f.length === 1) return (a) => Math.fround(f(a!));
    return (a, b) => Math.fround(f(a!, b!));
  }
  return f;
}
