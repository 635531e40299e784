// The C dialect: scalar types, literals and one entry per ALU op. Semantics are those of
// core's kernel/alu.ts (the interpreter), restated in C without undefined behaviour:
// int32 arithmetic goes through uint32_t (wraps), float -> int casts go through rg_f2i
// (NaN/inf -> 0, out of range wraps modulo 2^32 as JS `| 0` does), bool is uint8_t 0/1.
// float32 transcendentals are computed in double and rounded once, exactly as the
// reference computes Math.exp(x) and then Math.fround, so results agree bit for bit
// wherever libm and V8 agree in double (they are both within an ulp).
// Only compiler builtins are used (no #include), so a CUDA C dialect can reuse the shape
// of this table and override the entries that differ.
import type { AluOp, DType } from '@resgrad/core';

/** A C-like dialect: what a renderer needs to print scalar code. */
export interface Dialect {
  /** The C type of each dtype's elements. */
  readonly type: Readonly<Record<DType, string>>;
  /** A literal of `dtype` (the value is representable in it). */
  literal(value: number, dtype: DType): string;
  /**
   * The expression computing ALU op `op` on operand expressions `a` (already rendered as
   * locals), with result dtype `out` and operand dtype `operand` (for `where`, that of the
   * selected values).
   */
  alu(op: AluOp, a: readonly string[], out: DType, operand: DType): string;
  /** Converts an int64 index value to `dtype` (the `index` expression). */
  fromIndex(v: string, dtype: DType): string;
}

const TYPE: Record<DType, string> = { float32: 'float', float64: 'double', int32: 'int32_t', bool: 'uint8_t' };

/** A C literal that parses to exactly `value` in `dtype`. */
export function literal(value: number, dtype: DType): string {
  if (dtype === 'int32') return value === -2147483648 ? '((int32_t)(-2147483647 - 1))' : `((int32_t)${value})`;
  if (dtype === 'bool') return value ? '((uint8_t)1)' : '((uint8_t)0)';
  const f = dtype === 'float32' ? 'f' : '';
  if (Number.isNaN(value)) return `__builtin_nan${f}("")`;
  if (value === Infinity) return `__builtin_inf${f}()`;
  if (value === -Infinity) return `(-__builtin_inf${f}())`;
  if (Object.is(value, -0)) return `(-0.0${f})`;
  // The shortest round-trip decimal of a double that is exactly a float32 also rounds to that
  // float32 when parsed as float (it lies far closer to it than half a float ulp).
  let s = String(value);
  if (!/[.eE]/.test(s)) s += '.0';
  return `(${s}${f})`;
}

type Entry = (a: readonly string[], out: DType) => string;

const isF32 = (t: DType) => t === 'float32';
/** libm function `fn` in double; for float32, computed in double and rounded once. */
const libm = (fn: string): Entry => ([x], out) => (isF32(out) ? `(float)__builtin_${fn}((double)${x})` : `__builtin_${fn}(${x})`);
const sfx = (t: DType) => (isF32(t) ? 'f' : 'd');
const one = (t: DType) => (isF32(t) ? '1.0f' : '1.0');

/** Float operands (float32 or float64): IEEE operations, rounded to the result type. */
const FLOAT: Partial<Record<AluOp, Entry>> = {
  neg: ([a]) => `(-${a})`,
  exp: libm('exp'),
  log: libm('log'),
  sin: libm('sin'),
  cos: libm('cos'),
  tanh: libm('tanh'),
  // sqrtf is correctly rounded, hence equal to rounding the double square root.
  sqrt: ([a], t) => (isF32(t) ? `__builtin_sqrtf(${a})` : `__builtin_sqrt(${a})`),
  rsqrt: ([a], t) => (isF32(t) ? `(float)(1.0 / __builtin_sqrt((double)${a}))` : `(1.0 / __builtin_sqrt(${a}))`),
  recip: ([a], t) => `(${one(t)} / ${a})`,
  abs: ([a], t) => (isF32(t) ? `__builtin_fabsf(${a})` : `__builtin_fabs(${a})`),
  // keeps NaN and signed zeros: x > 0 ? 1 : x < 0 ? -1 : x
  sign: ([a], t) => `(${a} > 0 ? ${one(t)} : ${a} < 0 ? -${one(t)} : ${a})`,
  add: ([a, b]) => `(${a} + ${b})`,
  sub: ([a, b]) => `(${a} - ${b})`,
  mul: ([a, b]) => `(${a} * ${b})`,
  div: ([a, b]) => `(${a} / ${b})`,
  max: ([a, b], t) => `rg_max${sfx(t)}(${a}, ${b})`,
  min: ([a, b], t) => `rg_min${sfx(t)}(${a}, ${b})`,
  pow: ([a, b], t) => (isF32(t) ? `(float)rg_pow((double)${a}, (double)${b})` : `rg_pow(${a}, ${b})`),
};

const u = (x: string) => `(uint32_t)${x}`;
/** int32 operands: two's complement wrapping through uint32_t, never signed overflow. */
const INT: Partial<Record<AluOp, Entry>> = {
  neg: ([a]) => `(int32_t)(0u - ${u(a!)})`,
  abs: ([a]) => `(int32_t)(${a} < 0 ? 0u - ${u(a!)} : ${u(a!)})`,
  sign: ([a]) => `(int32_t)((${a} > 0) - (${a} < 0))`,
  add: ([a, b]) => `(int32_t)(${u(a!)} + ${u(b!)})`,
  sub: ([a, b]) => `(int32_t)(${u(a!)} - ${u(b!)})`,
  mul: ([a, b]) => `(int32_t)(${u(a!)} * ${u(b!)})`,
  div: ([a, b]) => `rg_idiv(${a}, ${b})`,
  max: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
  min: ([a, b]) => `(${a} < ${b} ? ${a} : ${b})`,
  pow: ([a, b]) => `rg_f2i(rg_pow((double)${a}, (double)${b}))`,
};

/** bool operands (0/1): the few arithmetic ops that make sense, without wrapping concerns. */
const BOOL: Partial<Record<AluOp, Entry>> = {
  add: ([a, b]) => `(uint8_t)(${a} + ${b})`,
  mul: ([a, b]) => `(uint8_t)(${a} * ${b})`,
  max: ([a, b]) => `(${a} > ${b} ? ${a} : ${b})`,
  min: ([a, b]) => `(${a} < ${b} ? ${a} : ${b})`,
};

const COMPARE: Partial<Record<AluOp, string>> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

function cast(x: string, to: DType, from: DType): string {
  if (to === from) return x;
  switch (to) {
    case 'float32':
      return `(float)${x}`;
    case 'float64':
      return `(double)${x}`;
    case 'int32':
      return from === 'float32' || from === 'float64' ? `rg_f2i((double)${x})` : `(int32_t)${x}`;
    case 'bool':
      // x != 0 && !isnan(x); for floats (x == x) is the NaN test.
      return from === 'float32' || from === 'float64' ? `(uint8_t)((${x} != 0) & (${x} == ${x}))` : `(uint8_t)(${x} != 0)`;
  }
}

function alu(op: AluOp, a: readonly string[], out: DType, operand: DType): string {
  const cmp = COMPARE[op];
  if (cmp) return `(uint8_t)(${a[0]} ${cmp} ${a[1]})`;
  if (op === 'cast') return cast(a[0]!, out, operand);
  if (op === 'where') return `(${a[0]} ? ${a[1]} : ${a[2]})`;
  if (op === 'bitsToFloat')
    // float32: the top 24 bits times 2^-24; float64: all 32 bits times 2^-32 (both exact).
    return out === 'float32' ? `((float)((uint32_t)${a[0]} >> 8) * 0x1p-24f)` : `((double)(uint32_t)${a[0]} * 0x1p-32)`;
  const table = operand === 'int32' ? INT : operand === 'bool' ? BOOL : FLOAT;
  const f = table[op];
  if (!f) throw new Error(`@resgrad/backend-cpu: no ${operand} rendering for ALU op '${op}'`);
  // Float ops compute in the operand type; the result dtype equals it for arithmetic.
  return f(a, operand === 'int32' || operand === 'bool' ? out : operand);
}

function fromIndex(v: string, dtype: DType): string {
  return dtype === 'int32' ? `(int32_t)(${v})` : dtype === 'bool' ? `(uint8_t)((${v}) != 0)` : `(${TYPE[dtype]})(${v})`;
}

/** The C dialect of the CPU backend. */
export const C_DIALECT: Dialect = { type: TYPE, literal, alu, fromIndex };

/**
 * Helpers every kernel source starts with: fixed-width types from compiler macros, and
 * the scalar functions whose JS semantics need more than one C operator.
 */
export const C_PRELUDE = String.raw`typedef __INT32_TYPE__ int32_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __UINT8_TYPE__ uint8_t;
#define RG_EXPORT __attribute__((visibility("default")))
#define RG_INLINE static inline __attribute__((always_inline))

/* JS ToInt32 of a truncated finite double; NaN and infinities give 0 (never C's UB). */
RG_INLINE int32_t rg_f2i(double v) {
  if (!(v == v) || v == __builtin_inf() || v == -__builtin_inf()) return 0;
  double t = __builtin_trunc(v);
  if (t > -2147483649.0 && t < 2147483648.0) return (int32_t)t;
  double m = __builtin_fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (int32_t)(uint32_t)(uint64_t)m;
}
/* int32 division truncating toward zero; 0 for a zero divisor; INT_MIN / -1 wraps. */
RG_INLINE int32_t rg_idiv(int32_t a, int32_t b) {
  return b == 0 ? 0 : b == -1 ? (int32_t)(0u - (uint32_t)a) : a / b;
}
/* Math.pow: C's pow(1, NaN) = 1 and pow(-1, +-inf) = 1, where JS gives NaN. */
RG_INLINE double rg_pow(double a, double b) {
  if (b != b) return b;
  if ((a == 1.0 || a == -1.0) && (b == __builtin_inf() || b == -__builtin_inf())) return __builtin_nan("");
  return __builtin_pow(a, b);
}
/* Math.max / Math.min: NaN propagates; max(+0, -0) = +0, min(+0, -0) = -0. */
RG_INLINE double rg_maxd(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __builtin_signbit(a) ? b : a;
  return a > b ? a : b;
}
RG_INLINE double rg_mind(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __builtin_signbit(a) ? a : b;
  return a < b ? a : b;
}
RG_INLINE float rg_maxf(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __builtin_signbit(a) ? b : a;
  return a > b ? a : b;
}
RG_INLINE float rg_minf(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __builtin_signbit(a) ? a : b;
  return a < b ? a : b;
}
/* Floor division and non-negative remainder by a positive constant, for index values that
 * may be negative (in validity conditions); C's / and % truncate. */
RG_INLINE int64_t rg_floordiv(int64_t a, int64_t d) { return a >= 0 ? a / d : -((-a + d - 1) / d); }
RG_INLINE int64_t rg_floormod(int64_t a, int64_t d) { return a - d * rg_floordiv(a, d); }
/* Word 0 of Threefry-2x32-20 (Salmon et al. 2011), as core's random/threefry.ts. */
RG_INLINE uint32_t rg_rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
RG_INLINE int32_t rg_threefry0(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1) {
  const uint32_t ks[3] = {k0, k1, k0 ^ k1 ^ 0x1bd11bdau};
  static const int R[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  uint32_t x0 = c0 + ks[0], x1 = c1 + ks[1];
  for (int g = 0; g < 5; g++) {
    for (int j = 0; j < 4; j++) {
      x0 += x1;
      x1 = rg_rotl(x1, R[g & 1][j]) ^ x0;
    }
    x0 += ks[(g + 1) % 3];
    x1 += ks[(g + 2) % 3] + (uint32_t)(g + 1);
  }
  return (int32_t)x0;
}

/* The runtime's thread pool, reached through the table rg_runtime_table() returns
 * (see kernels/pool.c); bound once per loaded object by rg_bind_runtime. */
typedef void (*rg_task_fn)(void *ctx, int64_t begin, int64_t end, int tid);
typedef struct {
  int version;
  void (*parallel_for)(int64_t, rg_task_fn, void *);
  int (*threads)(void);
  void *(*scratch)(int, __SIZE_TYPE__);
} rg_runtime;
static const rg_runtime *rg_rt;
RG_EXPORT void rg_bind_runtime(const void *table) { rg_rt = (const rg_runtime *)table; }
/* Runs fn over [0, n) on the pool when the work is worth a region, else on this thread. */
RG_INLINE void rg_run(int64_t n, int64_t work, rg_task_fn fn, void *ctx) {
  if (rg_rt && work >= RG_PARALLEL_WORK) rg_rt->parallel_for(n, fn, ctx);
  else fn(ctx, 0, n, 0);
}
`;
