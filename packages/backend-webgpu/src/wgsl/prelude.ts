// Helper functions every generated shader starts with: the scalar semantics of core's
// kernel/alu.ts that need more than one WGSL operator (see dialect.ts for why each exists).
// Unused helpers cost nothing at run time; the shader compiler drops them.

/** WGSL source of the helpers (module scope). */
export const WGSL_PRELUDE = String.raw`// NaN and infinity from bits held in private variables: a constant expression evaluating to
// either is a shader-creation error in WGSL.
var<private> rg_nan_bits: u32 = 0x7fc00000u;
var<private> rg_inf_bits: u32 = 0x7f800000u;
fn rg_nan() -> f32 { return bitcast<f32>(rg_nan_bits); }
fn rg_inf() -> f32 { return bitcast<f32>(rg_inf_bits); }
fn rg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn rg_isfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

fn rg_cmp_eq(a: f32, b: f32) -> u32 { return u32(!rg_isnan(a) && !rg_isnan(b) && a == b); }
fn rg_cmp_ne(a: f32, b: f32) -> u32 { return 1u - rg_cmp_eq(a, b); }
fn rg_cmp_lt(a: f32, b: f32) -> u32 { return u32(!rg_isnan(a) && !rg_isnan(b) && a < b); }
fn rg_cmp_le(a: f32, b: f32) -> u32 { return u32(!rg_isnan(a) && !rg_isnan(b) && a <= b); }
fn rg_cmp_gt(a: f32, b: f32) -> u32 { return u32(!rg_isnan(a) && !rg_isnan(b) && a > b); }
fn rg_cmp_ge(a: f32, b: f32) -> u32 { return u32(!rg_isnan(a) && !rg_isnan(b) && a >= b); }

// Math.max / Math.min: NaN propagates; max(+0, -0) = +0, min(+0, -0) = -0.
fn rg_maxf(a: f32, b: f32) -> f32 {
  if (rg_isnan(a)) { return a; }
  if (rg_isnan(b)) { return b; }
  if (a == b) { return select(a, b, (bitcast<u32>(a) >> 31u) == 1u); }
  return select(b, a, a > b);
}
fn rg_minf(a: f32, b: f32) -> f32 {
  if (rg_isnan(a)) { return a; }
  if (rg_isnan(b)) { return b; }
  if (a == b) { return select(b, a, (bitcast<u32>(a) >> 31u) == 1u); }
  return select(b, a, a < b);
}
// x > 0 ? 1 : x < 0 ? -1 : x (keeps NaN and signed zeros)
fn rg_signf(x: f32) -> f32 {
  if (x > 0.0f) { return 1.0f; }
  if (x < 0.0f) { return -1.0f; }
  return x;
}
fn rg_log(x: f32) -> f32 {
  if (rg_isnan(x) || x < 0.0f) { return rg_nan(); }
  if (x == 0.0f) { return -rg_inf(); }
  if (x == rg_inf()) { return x; }
  return log(x);
}
fn rg_sqrt(x: f32) -> f32 {
  if (rg_isnan(x) || x < 0.0f) { return rg_nan(); }
  if (x == 0.0f || x == rg_inf()) { return x; }
  return sqrt(x);
}
// Beyond |x| = 9.1, tanh(x) rounds to +-1 in f32; some drivers compute tanh through sinh/cosh,
// which overflow to NaN long before.
fn rg_tanh(x: f32) -> f32 {
  if (abs(x) > 9.1f) { return select(-1.0f, 1.0f, x > 0.0f); }
  return tanh(x);
}
// sin and cos to about an ulp for |x| <= 1e5 (WGSL only bounds the builtins' error absolutely,
// 2^-11, and only on [-pi, pi]): Cody-Waite reduction by pi/2 with a three-part constant whose
// first part has 8 significant bits, so k * C1 is exact for k < 2^16, then Cephes' minimax
// polynomials on [-pi/4, pi/4]. Beyond 1e5 the builtins serve (no Payne-Hanek reduction yet).
fn rg_sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-1.6666654611e-1f + z * (8.3321608736e-3f + z * -1.9515295891e-4f));
}
fn rg_cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0f - 0.5f * z + z * z * (4.166664568298827e-2f + z * (-1.388731625493765e-3f + z * 2.443315711809948e-5f));
}
// r = x - k pi/2 and the quadrant k mod 4
fn rg_reduce(x: f32) -> vec2<f32> {
  let k = round(x * 0.63661977236758134f);
  let r = ((x - k * 1.5703125f) - k * 4.837512969970703125e-4f) - k * 7.54978995489188216e-8f;
  return vec2<f32>(r, f32(i32(k) & 3i));
}
fn rg_sin(x: f32) -> f32 {
  if (!rg_isfinite(x)) { return rg_nan(); }
  if (abs(x) > 1e5f) { return sin(x); }
  let red = rg_reduce(x);
  let q = i32(red.y);
  if (q == 0i) { return rg_sin_poly(red.x); }
  if (q == 1i) { return rg_cos_poly(red.x); }
  if (q == 2i) { return -rg_sin_poly(red.x); }
  return -rg_cos_poly(red.x);
}
fn rg_cos(x: f32) -> f32 {
  if (!rg_isfinite(x)) { return rg_nan(); }
  if (abs(x) > 1e5f) { return cos(x); }
  let red = rg_reduce(x);
  let q = i32(red.y);
  if (q == 0i) { return rg_cos_poly(red.x); }
  if (q == 1i) { return -rg_sin_poly(red.x); }
  if (q == 2i) { return -rg_cos_poly(red.x); }
  return rg_sin_poly(red.x);
}
fn rg_is_odd_int(y: f32) -> bool {
  return abs(y) < 16777216.0f && trunc(y) == y && (i32(y) & 1i) == 1i;
}
// Math.pow on f32: WGSL's pow is undefined for x < 0 and at the IEEE special cases.
fn rg_powf(x: f32, y: f32) -> f32 {
  if (y == 0.0f) { return 1.0f; }
  if (rg_isnan(x) || rg_isnan(y)) { return rg_nan(); }
  let ax = abs(x);
  if (!rg_isfinite(y)) {
    if (ax == 1.0f) { return rg_nan(); }
    if ((ax > 1.0f) == (y > 0.0f)) { return rg_inf(); }
    return 0.0f;
  }
  let odd = rg_is_odd_int(y);
  if (x < 0.0f && trunc(y) != y) { return rg_nan(); }
  var r: f32;
  if (ax == 0.0f) {
    r = select(0.0f, rg_inf(), y < 0.0f);
  } else if (ax == rg_inf()) {
    r = select(rg_inf(), 0.0f, y < 0.0f);
  } else if (y == 1.0f) {
    r = ax;
  } else if (y == 2.0f) {
    r = ax * ax;
  } else {
    r = exp2(y * log2(ax));
  }
  // the sign of x survives only through odd integer powers (including -0)
  if ((bitcast<u32>(x) >> 31u) == 1u && odd) { r = -r; }
  return r;
}
// i32 division truncating toward zero; 0 for a zero divisor (WGSL gives the dividend);
// INT_MIN / -1 wraps to INT_MIN in both.
fn rg_idiv(a: i32, b: i32) -> i32 {
  if (b == 0i) { return 0i; }
  return a / b;
}
// toInt32(Math.pow(a, b)) for |a^b| < 2^53 (beyond, the reference rounds in double first).
fn rg_ipow(a: i32, b: i32) -> i32 {
  if (b < 0i) {
    if (a == 1i) { return 1i; }
    if (a == -1i) { return select(1i, -1i, (b & 1i) == 1i); }
    return 0i;
  }
  var r: i32 = 1i;
  var base: i32 = a;
  var e: u32 = u32(b);
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) == 1u) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}
// JS ToInt32 of trunc(x): NaN and infinities give 0; out-of-range values wrap modulo 2^32
// (WGSL's i32(x) saturates). A float32 of magnitude >= 2^31 is an integer m * 2^(e-23).
fn rg_f2i(x: f32) -> i32 {
  if (!rg_isfinite(x)) { return 0i; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0f) { return i32(t); }
  let bits = bitcast<u32>(t);
  let shift = i32((bits >> 23u) & 0xffu) - 127i - 23i;
  if (shift >= 32i) { return 0i; }
  var u = ((bits & 0x7fffffu) | 0x800000u) << u32(shift);
  if ((bits >> 31u) == 1u) { u = 0u - u; }
  return bitcast<i32>(u);
}
fn rg_f2b(x: f32) -> u32 { return u32(x != 0.0f && !rg_isnan(x)); }
// Floor division and non-negative remainder by a positive constant, for index values that may
// be negative (validity conditions); WGSL's / and % truncate.
fn rg_floordiv(a: i32, d: i32) -> i32 { return select(-((-a + d - 1i) / d), a / d, a >= 0i); }
fn rg_floormod(a: i32, d: i32) -> i32 { return a - d * rg_floordiv(a, d); }
// Word 0 of Threefry-2x32-20 (Salmon et al. 2011), as core's random/threefry.ts.
fn rg_rotl(x: u32, r: u32) -> u32 { return (x << r) | (x >> (32u - r)); }
fn rg_threefry0(k0: u32, k1: u32, c0: u32, c1: u32) -> i32 {
  var ks = array<u32, 3>(k0, k1, k0 ^ k1 ^ 0x1bd11bdau);
  var rot = array<u32, 8>(13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);
  var x0 = c0 + ks[0];
  var x1 = c1 + ks[1];
  for (var g = 0u; g < 5u; g++) {
    for (var j = 0u; j < 4u; j++) {
      x0 = x0 + x1;
      x1 = rg_rotl(x1, rot[(g & 1u) * 4u + j]) ^ x0;
    }
    x0 = x0 + ks[(g + 1u) % 3u];
    x1 = x1 + ks[(g + 2u) % 3u] + g + 1u;
  }
  return bitcast<i32>(x0);
}
`;
