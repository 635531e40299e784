// The scalar helpers both C-like preludes define, as C source: the JS semantics that need
// more than one C operator, spelled with the target's types, qualifier and math functions.
// Each backend's prelude puts its own typedefs and target-specific parts (the CPU's thread
// pool binding, CUDA's max fold) around these blocks.
import type { DType } from '../../../dtype.js';
import { cTypes, type CLikeSpec } from './spec.js';

/** How a target declares the helpers. */
export interface CLikeHelperOptions {
  /** The qualifier of every helper (an always-inline static function, a device function). */
  readonly qualifier: string;
  /** The index integer types the floor helpers are defined on (C overloads where several). */
  readonly indexTypes: readonly string[];
  /**
   * Unroll Threefry's rounds (`#pragma unroll`, CUDA), so the rotation table becomes immediate
   * shifts; its table is then a plain local (a `static` one would sit in device memory).
   * Otherwise the table is `static` (one copy, not rebuilt per call).
   */
  readonly unroll: boolean;
}

/** rg_f2i (float -> int32 cast), rg_idiv (int32 division), rg_pow (Math.pow). */
export function cArithHelpers(spec: CLikeSpec, { qualifier: q }: CLikeHelperOptions): string {
  const { i32, u32, u64, inf } = spec;
  const m = spec.math;
  return `/* JS ToInt32 of a truncated finite double; NaN and infinities give 0 (never C's UB). */
${q} ${i32} rg_f2i(double v) {
  if (!(v == v) || v == ${inf} || v == -${inf}) return 0;
  double t = ${m('trunc')}(v);
  if (t > -2147483649.0 && t < 2147483648.0) return (${i32})t;
  double m = ${m('fmod')}(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (${i32})(${u32})(${u64})m;
}
/* int32 division truncating toward zero; 0 for a zero divisor; INT_MIN / -1 wraps. */
${q} ${i32} rg_idiv(${i32} a, ${i32} b) {
  return b == 0 ? 0 : b == -1 ? (${i32})(0u - (${u32})a) : a / b;
}
/* Math.pow: C's pow(1, NaN) = 1 and pow(-1, +-inf) = 1, where JS gives NaN. */
${q} double rg_pow(double a, double b) {
  if (b != b) return b;
  if ((a == 1.0 || a == -1.0) && (b == ${inf} || b == -${inf})) return ${spec.nonFinite(NaN, false)};
  return ${m('pow')}(a, b);
}
`;
}

/**
 * Math.max / Math.min on each float dtype of `floats` (in that order), named by `spec.minMax`:
 * NaN propagates, and of two equal values max takes +0 over -0 and min -0 over +0, which a
 * plain comparison cannot tell apart.
 */
export function cMinMaxHelpers(spec: CLikeSpec, { qualifier: q }: CLikeHelperOptions, floats: readonly DType[]): string {
  const fns = floats.map((t) => {
    const T = cTypes(spec)[t];
    const neg = spec.signbit('a', t);
    return `${q} ${T} ${spec.minMax('max', t)}(${T} a, ${T} b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return ${neg} ? b : a;
  return a > b ? a : b;
}
${q} ${T} ${spec.minMax('min', t)}(${T} a, ${T} b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return ${neg} ? a : b;
  return a < b ? a : b;
}
`;
  });
  return `/* Math.max / Math.min: NaN propagates; max(+0, -0) = +0, min(+0, -0) = -0. */\n${fns.join('')}`;
}

/** rg_floordiv / rg_floormod (the IR's div and mod) and rg_threefry0 (randomBits). */
export function cIndexHelpers(spec: CLikeSpec, { qualifier: q, indexTypes, unroll }: CLikeHelperOptions): string {
  const { i32, u32 } = spec;
  const pragma = unroll ? '#pragma unroll\n' : '';
  const floor = indexTypes.map(
    (t) => `${q} ${t} rg_floordiv(${t} a, ${t} d) { return a >= 0 ? a / d : -((-a + d - 1) / d); }
${q} ${t} rg_floormod(${t} a, ${t} d) { return a - d * rg_floordiv(a, d); }
`,
  );
  return `/* Floor division and non-negative remainder by a positive constant, for index values that
 * may be negative (in validity conditions); C's / and % truncate. */
${floor.join('')}/* Word 0 of Threefry-2x32-20 (Salmon et al. 2011), as core's random/threefry.ts. */
${q} ${u32} rg_rotl(${u32} x, int r) { return (x << r) | (x >> (32 - r)); }
${q} ${i32} rg_threefry0(${u32} k0, ${u32} k1, ${u32} c0, ${u32} c1) {
  const ${u32} ks[3] = {k0, k1, k0 ^ k1 ^ 0x1bd11bdau};
  ${unroll ? '' : 'static '}const int R[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  ${u32} x0 = c0 + ks[0], x1 = c1 + ks[1];
${pragma}  for (int g = 0; g < 5; g++) {
${pragma}    for (int j = 0; j < 4; j++) {
      x0 += x1;
      x1 = rg_rotl(x1, R[g & 1][j]) ^ x0;
    }
    x0 += ks[(g + 1) % 3];
    x1 += ks[(g + 2) % 3] + (${u32})(g + 1);
  }
  return (${i32})x0;
}
`;
}
