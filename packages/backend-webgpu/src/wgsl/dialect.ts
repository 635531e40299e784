// The WGSL dialect: scalar types, literals and one entry per ALU op, restating core's
// kernel/alu.ts (the interpreter's semantics) in WGSL. It implements core's `Dialect` (the
// ALU dispatch is core's aluFromRules); statements are syntax.ts, the walker is core's Scope.
//
// Representation. float32 is f32, int32 is i32, bool is u32 holding 0 or 1, both in registers
// and in storage buffers (WGSL's `bool` cannot live in a storage buffer; one u32 per element
// keeps loads and stores plain; the backend converts to and from Uint8Array on upload/read).
// float64 does not exist in WGSL: the backend rejects it before anything is rendered.
//
// Why helpers instead of builtins. WGSL leaves several results implementation-defined where
// the reference is exact: i32 `/` by zero gives the dividend (the reference gives 0), `i32(f)`
// saturates (JS `| 0` wraps modulo 2^32), max/min/comparisons with NaN, log/sqrt outside
// their domain, tanh of large arguments (sinh/cosh overflow to NaN on some drivers). NaN is
// tested on the bits (`x != x` may be folded away by an optimiser that assumes no NaN), and
// NaN and infinities come from bit patterns held in private variables, since a WGSL constant
// expression that evaluates to NaN or infinity is a shader-creation error.
import { aluFromRules, COMPARE_SYMBOL, type AluOp, type AluTable, type DType } from '@resgrad/core';

/** A WGSL dtype: the ones this backend can hold. */
export type WgslDType = Exclude<DType, 'float64'>;

/** The WGSL type of each dtype's values, in registers and in storage. */
export const WGSL_TYPE: Readonly<Record<WgslDType, string>> = { float32: 'f32', int32: 'i32', bool: 'u32' };

/** Throws the backend's float64 error when `dtype` is float64. */
export function wgslType(dtype: DType, where: string): string {
  if (dtype === 'float64')
    throw new Error(`@resgrad/backend-webgpu: ${where}: float64 is not supported on WebGPU (WGSL has no f64); use float32 or another backend`);
  return WGSL_TYPE[dtype];
}

/** A WGSL expression of exactly `value` in `dtype` (the value is representable in it). */
export function literal(value: number, dtype: DType): string {
  switch (dtype) {
    case 'int32':
      // -2147483648 is not a valid i32 literal (the literal 2147483648 overflows before negation)
      return value === -2147483648 ? 'i32(-2147483647 - 1)' : `${value | 0}i`;
    case 'bool':
      return value ? '1u' : '0u';
    default:
      if (Number.isNaN(value)) return 'rg_nan()';
      if (value === Infinity) return 'rg_inf()';
      if (value === -Infinity) return '(-rg_inf())';
      if (Object.is(value, -0)) return '(-0.0f)';
      // The shortest round-trip decimal of a float32 value parses back to it as f32. WGSL
      // rejects f32 literals that round to a subnormal in some implementations: write those
      // through their bits.
      if (value !== 0 && Math.abs(value) < 1.1754943508222875e-38) return `bitcast<f32>(${f32Bits(value)}u)`;
      return `${fmtFloat(value)}f`;
  }
}

const scratch = new DataView(new ArrayBuffer(4));
function f32Bits(v: number): number {
  scratch.setFloat32(0, v);
  return scratch.getUint32(0);
}
function fmtFloat(v: number): string {
  const s = String(Math.fround(v));
  if (/e/.test(s)) {
    const [m, e] = s.split('e') as [string, string];
    return `${/\./.test(m) ? m : `${m}.0`}e${e}`;
  }
  return /\./.test(s) ? s : `${s}.0`;
}

/** f32 operands. add/sub/mul are correctly rounded in WGSL; the rest are within WGSL's ULP bounds. */
const FLOAT: AluTable = {
  neg: ([a]) => `(-${a})`,
  exp: ([a]) => `exp(${a})`,
  log: ([a]) => `rg_log(${a})`,
  sqrt: ([a]) => `rg_sqrt(${a})`,
  rsqrt: ([a]) => `(1.0f / rg_sqrt(${a}))`,
  recip: ([a]) => `(1.0f / ${a})`,
  sin: ([a]) => `rg_sin(${a})`,
  cos: ([a]) => `rg_cos(${a})`,
  tanh: ([a]) => `rg_tanh(${a})`,
  abs: ([a]) => `abs(${a})`,
  sign: ([a]) => `rg_signf(${a})`,
  add: ([a, b]) => `(${a} + ${b})`,
  sub: ([a, b]) => `(${a} - ${b})`,
  mul: ([a, b]) => `(${a} * ${b})`,
  div: ([a, b]) => `(${a} / ${b})`,
  max: ([a, b]) => `rg_maxf(${a}, ${b})`,
  min: ([a, b]) => `rg_minf(${a}, ${b})`,
  pow: ([a, b]) => `rg_powf(${a}, ${b})`,
};

/** i32 operands: WGSL's i32 +, -, *, unary - and abs wrap in two's complement, as the reference. */
const INT: AluTable = {
  neg: ([a]) => `(-${a})`,
  abs: ([a]) => `abs(${a})`,
  sign: ([a]) => `sign(${a})`,
  add: ([a, b]) => `(${a} + ${b})`,
  sub: ([a, b]) => `(${a} - ${b})`,
  mul: ([a, b]) => `(${a} * ${b})`,
  div: ([a, b]) => `rg_idiv(${a}, ${b})`,
  max: ([a, b]) => `max(${a}, ${b})`,
  min: ([a, b]) => `min(${a}, ${b})`,
  pow: ([a, b]) => `rg_ipow(${a}, ${b})`,
};

/** bool operands (u32 0/1): the ops the primitives allow on bool. */
const BOOL: AluTable = {
  max: ([a, b]) => `max(${a}, ${b})`,
  min: ([a, b]) => `min(${a}, ${b})`,
};

function cast(x: string, to: WgslDType, from: WgslDType): string {
  if (to === from) return x;
  switch (to) {
    case 'float32':
      // i32 -> f32 rounds to nearest on every implementation we know; u32 0/1 is exact
      return `f32(${x})`;
    case 'int32':
      return from === 'float32' ? `rg_f2i(${x})` : `i32(${x})`;
    case 'bool':
      return from === 'float32' ? `rg_f2b(${x})` : `u32(${x} != 0i)`;
  }
}

const RULES = aluFromRules({
  who: '@resgrad/backend-webgpu',
  // NaN compares false with everything but `!=`; for f32 the helper decides on the bits.
  compare: (op, a, b, operand) => (operand === 'float32' ? `rg_cmp_${op}(${a}, ${b})` : `u32(${a} ${COMPARE_SYMBOL[op]} ${b})`),
  cast: (x, to, from) => cast(x, to as WgslDType, from as WgslDType),
  where: (c, a, b) => `select(${b}, ${a}, ${c} != 0u)`,
  // float32 only: the top 24 bits times 2^-24 (exact).
  bitsToFloat: (x) => `(f32(bitcast<u32>(${x}) >> 8u) * 5.9604644775390625e-8f)`,
  float: FLOAT,
  int: INT,
  bool: BOOL,
});

/**
 * The WGSL expression of ALU op `op` on operand expressions `a` (already rendered as locals),
 * with result dtype `out` and operand dtype `operand` (for `where`, that of the selected values).
 */
export function alu(op: AluOp, a: readonly string[], out: DType, operand: DType): string {
  wgslType(out, `ALU op '${op}'`);
  wgslType(operand, `ALU op '${op}'`);
  return RULES(op, a, out, operand);
}

/** Converts an i32 index value to `dtype` (the `index` expression, iota). */
export function fromIndex(v: string, dtype: DType): string {
  const t = wgslType(dtype, 'index');
  return dtype === 'bool' ? `u32((${v}) != 0i)` : dtype === 'int32' ? `(${v})` : `${t}(${v})`;
}

/** The WGSL dialect as one object (core's `Dialect`, with the type names). */
export const WGSL_DIALECT = { type: WGSL_TYPE, literal, alu, fromIndex } as const;
