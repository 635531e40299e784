// The CUDA C dialect: scalar types, literals and one entry per ALU op, with the semantics of
// core's kernel/alu.ts restated in CUDA C without undefined behaviour:
// - int32 arithmetic goes through unsigned (wraps); int32 div by zero gives 0 and
//   INT_MIN / -1 wraps (rg_idiv), never a trap;
// - float -> int casts go through rg_f2i (NaN/inf -> 0, out of range wraps like JS `| 0`);
// - bool is an unsigned char holding 0/1;
// - float32 transcendentals are computed in double and rounded once, as the reference does
//   (Math.exp then Math.fround), unless the dialect is built with `fastMath` (then CUDA's
//   single-precision functions, within 2 ulp);
// - kernels are compiled with --fmad=false, so `a * b + c` rounds twice like the reference.
// No #include: NVRTC runs without the toolkit's headers; fixed-width types are our own
// typedefs (rg_i32, ...) so they cannot clash with any header nvcc pre-includes.
//
// This table has the same shape as backend-cpu's C dialect (render/dialect.ts: `Dialect` with
// type/literal/alu/fromIndex); the entries that differ are the type names, literals of
// NaN/inf (CUDA intrinsics instead of __builtin_*), hex-float constants and the math
// function names (CUDA's overloaded device functions instead of __builtin_exp).
import type { AluOp, DType } from '@resgrad/core';

/** A C-like dialect: what a renderer needs to print scalar code. */
export interface Dialect {
  /** The C type of each dtype's elements. */
  readonly type: Readonly<Record<DType, string>>;
  /** A literal of `dtype` (the value is representable in it). */
  literal(value: number, dtype: DType): string;
  /**
   * The expression computing ALU op `op` on operand expressions `a`, with result dtype `out`
   * and operand dtype `operand` (for `where`, that of the selected values).
   */
  alu(op: AluOp, a: readonly string[], out: DType, operand: DType): string;
  /** Converts an integer index value to `dtype` (the `index` expression). */
  fromIndex(v: string, dtype: DType): string;
}

/** Element types: our own typedefs from the prelude. */
export const CUDA_TYPES: Readonly<Record<DType, string>> = { float32: 'float', float64: 'double', int32: 'rg_i32', bool: 'rg_u8' };

/** A CUDA C literal that parses to exactly `value` in `dtype`. */
export function literal(value: number, dtype: DType): string {
  if (dtype === 'int32') return value === -2147483648 ? '((rg_i32)(-2147483647 - 1))' : `((rg_i32)${value})`;
  if (dtype === 'bool') return value ? '((rg_u8)1)' : '((rg_u8)0)';
  const f32 = dtype === 'float32';
  if (Number.isNaN(value)) return f32 ? '__int_as_float(0x7fc00000)' : '__longlong_as_double(0x7ff8000000000000LL)';
  if (value === Infinity) return f32 ? '__int_as_float(0x7f800000)' : '__longlong_as_double(0x7ff0000000000000LL)';
  if (value === -Infinity) return f32 ? '__int_as_float((int)0xff800000u)' : '__longlong_as_double((long long)0xfff0000000000000ULL)';
  if (Object.is(value, -0)) return f32 ? '(-0.0f)' : '(-0.0)';
  // The shortest round-trip decimal of a double that is exactly a float32 also parses to
  // that float32 as a float literal (it lies far closer to it than half a float ulp).
  let s = String(value);
  if (!/[.eE]/.test(s)) s += '.0';
  return `(${s}${f32 ? 'f' : ''})`;
}

type Entry = (a: readonly string[], out: DType) => string;

const isF32 = (t: DType) => t === 'float32';
const one = (t: DType) => (isF32(t) ? '1.0f' : '1.0');

/** A double math function; for float32, computed in double and rounded once (or, fast, the f variant). */
const math = (fn: string, fast: boolean): Entry => ([x], t) =>
  isF32(t) ? (fast ? `${fn}f(${x})` : `(float)${fn}((double)${x})`) : `${fn}(${x})`;

function floatTable(fast: boolean): Partial<Record<AluOp, Entry>> {
  return {
    neg: ([a]) => `(-${a})`,
    exp: math('exp', fast),
    log: math('log', fast),
    sin: math('sin', fast),
    cos: math('cos', fast),
    tanh: math('tanh', fast),
    // sqrtf is correctly rounded (--prec-sqrt=true), hence equal to rounding the double root.
    sqrt: ([a], t) => (isF32(t) ? `sqrtf(${a})` : `sqrt(${a})`),
    rsqrt: ([a], t) =>
      isF32(t) ? (fast ? `rsqrtf(${a})` : `(float)(1.0 / sqrt((double)${a}))`) : `(1.0 / sqrt(${a}))`,
    recip: ([a], t) => `(${one(t)} / ${a})`,
    abs: ([a], t) => (isF32(t) ? `fabsf(${a})` : `fabs(${a})`),
    // keeps NaN and signed zeros: x > 0 ? 1 : x < 0 ? -1 : x
    sign: ([a], t) => `(${a} > 0 ? ${one(t)} : ${a} < 0 ? -${one(t)} : ${a})`,
    add: ([a, b]) => `(${a} + ${b})`,
    sub: ([a, b]) => `(${a} - ${b})`,
    mul: ([a, b]) => `(${a} * ${b})`,
    div: ([a, b]) => `(${a} / ${b})`,
    max: ([a, b]) => `rg_max(${a}, ${b})`,
    min: ([a, b]) => `rg_min(${a}, ${b})`,
    pow: ([a, b], t) => (isF32(t) ? `(float)rg_pow((double)${a}, (double)${b})` : `rg_pow(${a}, ${b})`),
  };
}

const u = (x: string) => `(rg_u32)${x}`;
/** int32 operands: two's complement wrapping through unsigned, never signed overflow. */
const INT: Partial<Record<AluOp, Entry>> = {
  neg: ([a]) => `(rg_i32)(0u - ${u(a!)})`,
  abs: ([a]) => `(rg_i32)(${a} < 0 ? 0u - ${u(a!)} : ${u(a!)})`,
  sign: ([a]) => `(rg_i32)((${a} > 0) - (${a} < 0))`,
  add: ([a, b]) => `(rg_i32)(${u(a!)} + ${u(b!)})`,
  sub: ([a, b]) => `(rg_i32)(${u(a!)} - ${u(b!)})`,
  mul: ([a, b]) => `(rg_i32)(${u(a!)} * ${u(b!)})`,
  div: ([a, b]) => `rg_idiv(${a}, ${b})`,
  max: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
  min: ([a, b]) => `(${a} < ${b} ? ${a} : ${b})`,
  pow: ([a, b]) => `rg_f2i(rg_pow((double)${a}, (double)${b}))`,
};

/** bool operands (0/1): the few arithmetic ops that make sense. */
const BOOL: Partial<Record<AluOp, Entry>> = {
  add: ([a, b]) => `(rg_u8)(${a} + ${b})`,
  mul: ([a, b]) => `(rg_u8)(${a} * ${b})`,
  max: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
  min: ([a, b]) => `(${a} < ${b} ? ${a} : ${b})`,
};

const COMPARE: Partial<Record<AluOp, string>> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

const isFloat = (t: DType) => t === 'float32' || t === 'float64';

function cast(x: string, to: DType, from: DType): string {
  if (to === from) return x;
  switch (to) {
    case 'float32':
      return `(float)${x}`;
    case 'float64':
      return `(double)${x}`;
    case 'int32':
      return isFloat(from) ? `rg_f2i((double)${x})` : `(rg_i32)${x}`;
    case 'bool':
      // x != 0 && !isnan(x); (x == x) is the NaN test (IEEE comparisons: no fast math).
      return isFloat(from) ? `(rg_u8)((${x} != 0) & (${x} == ${x}))` : `(rg_u8)(${x} != 0)`;
  }
}

/** Options of {@link cudaDialect}. */
export interface CudaDialectOptions {
  /** Single-precision math functions for float32 (faster, within 2 ulp of the reference). */
  readonly fastMath?: boolean;
}

/** The CUDA C dialect. */
export function cudaDialect(opts: CudaDialectOptions = {}): Dialect {
  const FLOAT = floatTable(!!opts.fastMath);
  const alu = (op: AluOp, a: readonly string[], out: DType, operand: DType): string => {
    const cmp = COMPARE[op];
    if (cmp) return `(rg_u8)(${a[0]} ${cmp} ${a[1]})`;
    if (op === 'cast') return cast(a[0]!, out, operand);
    if (op === 'where') return `(${a[0]} ? ${a[1]} : ${a[2]})`;
    if (op === 'bitsToFloat')
      // float32: the top 24 bits times 2^-24; float64: all 32 bits times 2^-32 (both exact).
      return out === 'float32'
        ? `((float)((rg_u32)${a[0]} >> 8) * 5.9604644775390625e-08f)`
        : `((double)(rg_u32)${a[0]} * 2.3283064365386962890625e-10)`;
    const table = operand === 'int32' ? INT : operand === 'bool' ? BOOL : FLOAT;
    const f = table[op];
    if (!f) throw new Error(`@resgrad/backend-cuda: no ${operand} rendering for ALU op '${op}'`);
    return f(a, operand === 'int32' || operand === 'bool' ? out : operand);
  };
  const fromIndex = (v: string, dtype: DType) =>
    dtype === 'int32' ? `(rg_i32)(${v})` : dtype === 'bool' ? `(rg_u8)((${v}) != 0)` : `(${CUDA_TYPES[dtype]})(${v})`;
  return { type: CUDA_TYPES, literal, alu, fromIndex };
}

/** The default (exact) CUDA dialect. */
export const CUDA_DIALECT: Dialect = cudaDialect();
