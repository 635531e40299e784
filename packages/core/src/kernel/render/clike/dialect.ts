// The C-like dialect: core's kernel/alu.ts restated in C without undefined behaviour.
// - int32 arithmetic goes through uint32 (wraps modulo 2^32, never signed overflow); int32
//   division by zero gives 0 and INT_MIN / -1 wraps (rg_idiv), never a trap;
// - float -> int casts go through rg_f2i (NaN/inf -> 0, out of range wraps as JS `| 0` does);
// - bool is a uint8 holding 0/1;
// - float32 transcendentals are computed in double and rounded once, exactly as the reference
//   computes Math.exp(x) and then Math.fround, so results agree bit for bit wherever libm and
//   V8 agree in double (both are within an ulp); `fast` trades this for the float versions.
// The prelude helpers named here (rg_f2i, rg_idiv, rg_pow, rg_max...) are each target's own.
import type { DType } from '../../../dtype.js';
import { aluFromRules, COMPARE_SYMBOL, type AluEntry, type AluTable } from '../alu.js';
import type { Dialect } from '../dialect.js';
import { cTypes, type CLikeSpec } from './spec.js';

/** A C-like dialect: the scalar dialect plus the element type names kernels declare. */
export interface CDialect extends Dialect {
  /** The C type of each dtype's elements. */
  readonly type: Readonly<Record<DType, string>>;
}

const isF32 = (t: DType) => t === 'float32';
const isFloat = (t: DType) => t === 'float32' || t === 'float64';
const one = (t: DType) => (isF32(t) ? '1.0f' : '1.0');

/** A literal that parses to exactly `value` in `dtype`. */
function literal(spec: CLikeSpec, value: number, dtype: DType): string {
  // -2147483648 is not a literal: 2147483648 overflows int before the negation.
  if (dtype === 'int32') return value === -2147483648 ? `((${spec.i32})(-2147483647 - 1))` : `((${spec.i32})${value})`;
  if (dtype === 'bool') return value ? `((${spec.u8})1)` : `((${spec.u8})0)`;
  const f = isF32(dtype) ? 'f' : '';
  if (!Number.isFinite(value)) return spec.nonFinite(value, isF32(dtype));
  if (Object.is(value, -0)) return `(-0.0${f})`;
  // The shortest round-trip decimal of a double that is exactly a float32 also rounds to that
  // float32 when parsed as float (it lies far closer to it than half a float ulp).
  let s = String(value);
  if (!/[.eE]/.test(s)) s += '.0';
  return `(${s}${f})`;
}

/** Float operands (float32 or float64): IEEE operations, rounded to the result type. */
function floatTable(spec: CLikeSpec, fast: boolean): AluTable {
  const m = spec.math;
  // Math function `fn`; for float32 computed in double and rounded once (or, fast, in float).
  const math = (fn: string): AluEntry => ([x], t) =>
    isF32(t) ? (fast ? `${m(fn)}f(${x})` : `(float)${m(fn)}((double)${x})`) : `${m(fn)}(${x})`;
  return {
    neg: ([a]) => `(-${a})`,
    exp: math('exp'),
    log: math('log'),
    sin: math('sin'),
    cos: math('cos'),
    tanh: math('tanh'),
    // sqrtf is correctly rounded, hence equal to rounding the double square root.
    sqrt: ([a], t) => (isF32(t) ? `${m('sqrt')}f(${a})` : `${m('sqrt')}(${a})`),
    rsqrt: ([a], t) =>
      isF32(t) ? (fast ? `${m('rsqrt')}f(${a})` : `(float)(1.0 / ${m('sqrt')}((double)${a}))`) : `(1.0 / ${m('sqrt')}(${a}))`,
    recip: ([a], t) => `(${one(t)} / ${a})`,
    abs: ([a], t) => (isF32(t) ? `${m('fabs')}f(${a})` : `${m('fabs')}(${a})`),
    // keeps NaN and signed zeros: x > 0 ? 1 : x < 0 ? -1 : x
    sign: ([a], t) => `(${a} > 0 ? ${one(t)} : ${a} < 0 ? -${one(t)} : ${a})`,
    add: ([a, b]) => `(${a} + ${b})`,
    sub: ([a, b]) => `(${a} - ${b})`,
    mul: ([a, b]) => `(${a} * ${b})`,
    div: ([a, b]) => `(${a} / ${b})`,
    max: ([a, b], t) => `${spec.minMax('max', t)}(${a}, ${b})`,
    min: ([a, b], t) => `${spec.minMax('min', t)}(${a}, ${b})`,
    // rg_pow is Math.pow in double (C's pow differs at 1^NaN and (-1)^inf).
    pow: ([a, b], t) => (isF32(t) ? `(float)rg_pow((double)${a}, (double)${b})` : `rg_pow(${a}, ${b})`),
  };
}

/** int32 operands: two's complement wrapping through uint32, never signed overflow. */
function intTable({ i32, u32 }: CLikeSpec): AluTable {
  const u = (x: string | undefined) => `(${u32})${x}`;
  return {
    neg: ([a]) => `(${i32})(0u - ${u(a)})`,
    abs: ([a]) => `(${i32})(${a} < 0 ? 0u - ${u(a)} : ${u(a)})`,
    sign: ([a]) => `(${i32})((${a} > 0) - (${a} < 0))`,
    add: ([a, b]) => `(${i32})(${u(a)} + ${u(b)})`,
    sub: ([a, b]) => `(${i32})(${u(a)} - ${u(b)})`,
    mul: ([a, b]) => `(${i32})(${u(a)} * ${u(b)})`,
    div: ([a, b]) => `rg_idiv(${a}, ${b})`,
    max: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
    min: ([a, b]) => `(${a} < ${b} ? ${a} : ${b})`,
    // the truncated real power: JS `Math.pow(a, b) | 0`
    pow: ([a, b]) => `rg_f2i(rg_pow((double)${a}, (double)${b}))`,
  };
}

/** bool operands (0/1): the few arithmetic ops that make sense, without wrapping concerns. */
function boolTable({ u8 }: CLikeSpec): AluTable {
  return {
    add: ([a, b]) => `(${u8})(${a} + ${b})`,
    mul: ([a, b]) => `(${u8})(${a} * ${b})`,
    max: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
    min: ([a, b]) => `(${a} < ${b} ? ${a} : ${b})`,
  };
}

function cast(spec: CLikeSpec, x: string, to: DType, from: DType): string {
  if (to === from) return x;
  switch (to) {
    case 'float32':
      return `(float)${x}`;
    case 'float64':
      return `(double)${x}`;
    case 'int32':
      return isFloat(from) ? `rg_f2i((double)${x})` : `(${spec.i32})${x}`;
    case 'bool':
      // x != 0 && !isnan(x); (x == x) is the NaN test (IEEE comparisons: no fast math).
      return isFloat(from) ? `(${spec.u8})((${x} != 0) & (${x} == ${x}))` : `(${spec.u8})(${x} != 0)`;
  }
}

/** The C-like dialect of `spec`; `fast` uses the float math functions for float32. */
export function cDialect(spec: CLikeSpec, fast = false): CDialect {
  const type = cTypes(spec);
  const alu = aluFromRules({
    who: spec.who,
    compare: (op, a, b) => `(${spec.u8})(${a} ${COMPARE_SYMBOL[op]} ${b})`,
    cast: (x, to, from) => cast(spec, x, to, from),
    where: (c, a, b) => `(${c} ? ${a} : ${b})`,
    // float32: the top 24 bits times 2^-24; float64: all 32 bits times 2^-32 (both exact).
    bitsToFloat: (x, out) =>
      isF32(out) ? `((float)((${spec.u32})${x} >> 8) * ${spec.twoPowM24f})` : `((double)(${spec.u32})${x} * ${spec.twoPowM32})`,
    float: floatTable(spec, fast),
    int: intTable(spec),
    bool: boolTable(spec),
  });
  return {
    type,
    literal: (value, dtype) => literal(spec, value, dtype),
    alu,
    fromIndex: (v, dtype) =>
      dtype === 'int32' ? `(${spec.i32})(${v})` : dtype === 'bool' ? `(${spec.u8})((${v}) != 0)` : `(${type[dtype]})(${v})`,
  };
}
