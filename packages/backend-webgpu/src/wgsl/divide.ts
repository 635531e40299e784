// Division of a non-negative i32 index by a constant, without WGSL's `/` where a cheaper exact
// form exists for the index's range. SwiftShader's JIT emits an integer division per lane (x86
// has no vector integer division) and WGSL's `/` carries a guard against division by zero, so
// the implicit-GEMM gathers, which decode indices by constants, avoid it.
//
// Multiply and shift: with m = ceil(2^s / d) and e = m*d - 2^s (0 <= e < d), floor(x*m / 2^s) =
// floor(x / d) for every 0 <= x <= max when max*e < 2^s. Proof: write x = q*d + r with
// 0 <= r < d; then x*m / 2^s = x/d + x*e / (d*2^s) = q + (r + x*e/2^s) / d, and
// 0 <= x*e/2^s < 1 <= d - r, so 0 <= r + x*e/2^s < d and the floor is q. The product x*m must
// also fit in an i32 (max*m < 2^31); the smallest s that satisfies both is taken.

/** m and s with floor(x / d) = (x * m) >> s for 0 <= x <= max in i32 arithmetic, or null. */
export function divisionMagic(d: number, max: number): { m: number; s: number } | null {
  if (!Number.isInteger(d) || d < 1 || !Number.isInteger(max) || max < 0) return null;
  for (let s = 0; s < 31; s++) {
    const m = Math.ceil(2 ** s / d);
    const e = m * d - 2 ** s;
    if (max * e < 2 ** s && max * m < 2 ** 31) return { m, s };
  }
  return null;
}

const isPow2 = (d: number) => Number.isInteger(d) && d >= 1 && (d & (d - 1)) === 0;

/**
 * WGSL for floor(x / d), x an i32 expression (a name or parenthesised) known to lie in
 * [0, max], d a positive integer constant.
 */
export function divConst(x: string, d: number, max: number): string {
  if (d === 1) return x;
  if (isPow2(d) && d <= 2 ** 30) return `(${x} >> ${Math.log2(d)}u)`;
  const magic = divisionMagic(d, max);
  return magic ? `((${x} * ${magic.m}i) >> ${magic.s}u)` : `(${x} / ${d}i)`;
}
