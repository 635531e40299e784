// The helpers every generated CUDA translation unit starts with: our fixed-width types and
// the scalar functions whose JS semantics need more than one operator. Only CUDA built-ins
// (intrinsics and the device math library NVRTC provides without headers) are used.

/** The CUDA C prelude. */
export const CUDA_PRELUDE = String.raw`typedef int rg_i32;
typedef unsigned int rg_u32;
typedef long long rg_i64;
typedef unsigned long long rg_u64;
typedef unsigned char rg_u8;
#define RG_D __device__ __forceinline__
#define RG_INF_D __longlong_as_double(0x7ff0000000000000LL)

/* JS ToInt32 of a truncated finite double; NaN and infinities give 0 (a plain cast is UB). */
RG_D rg_i32 rg_f2i(double v) {
  if (!(v == v) || v == RG_INF_D || v == -RG_INF_D) return 0;
  double t = trunc(v);
  if (t > -2147483649.0 && t < 2147483648.0) return (rg_i32)t;
  double m = fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (rg_i32)(rg_u32)(rg_u64)m;
}
/* int32 division truncating toward zero; 0 for a zero divisor; INT_MIN / -1 wraps. */
RG_D rg_i32 rg_idiv(rg_i32 a, rg_i32 b) {
  return b == 0 ? 0 : b == -1 ? (rg_i32)(0u - (rg_u32)a) : a / b;
}
/* Math.pow: C's pow(1, NaN) = 1 and pow(-1, +-inf) = 1, where JS gives NaN. */
RG_D double rg_pow(double a, double b) {
  if (b != b) return b;
  if ((a == 1.0 || a == -1.0) && (b == RG_INF_D || b == -RG_INF_D)) return __longlong_as_double(0x7ff8000000000000LL);
  return pow(a, b);
}
/* Math.max / Math.min: NaN propagates; max(+0, -0) = +0, min(+0, -0) = -0. */
RG_D float rg_max(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __float_as_int(a) < 0 ? b : a;
  return a > b ? a : b;
}
RG_D float rg_min(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __float_as_int(a) < 0 ? a : b;
  return a < b ? a : b;
}
RG_D double rg_max(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __double_as_longlong(a) < 0 ? b : a;
  return a > b ? a : b;
}
RG_D double rg_min(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a == b) return __double_as_longlong(a) < 0 ? a : b;
  return a < b ? a : b;
}
/* The max reduction's fold: keeps the first NaN it meets, as the reference does. */
RG_D double rg_maxacc(double acc, double x) { return (x > acc || x != x) ? x : acc; }
/* Floor division and non-negative remainder by a positive constant, for index values that
 * may be negative (validity conditions); C's / and % truncate. */
RG_D rg_i64 rg_floordiv(rg_i64 a, rg_i64 d) { return a >= 0 ? a / d : -((-a + d - 1) / d); }
RG_D rg_i64 rg_floormod(rg_i64 a, rg_i64 d) { return a - d * rg_floordiv(a, d); }
RG_D int rg_floordiv(int a, int d) { return a >= 0 ? a / d : -((-a + d - 1) / d); }
RG_D int rg_floormod(int a, int d) { return a - d * rg_floordiv(a, d); }
/* Word 0 of Threefry-2x32-20 (Salmon et al. 2011) of key (k0, k1), counter (c0, c1): the
 * same function as core's random/threefry.ts, so every backend draws the same bits. */
RG_D rg_u32 rg_rotl(rg_u32 x, int r) { return (x << r) | (x >> (32 - r)); }
RG_D rg_i32 rg_threefry0(rg_u32 k0, rg_u32 k1, rg_u32 c0, rg_u32 c1) {
  const rg_u32 ks[3] = {k0, k1, k0 ^ k1 ^ 0x1bd11bdau};
  const int R[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  rg_u32 x0 = c0 + ks[0], x1 = c1 + ks[1];
#pragma unroll
  for (int g = 0; g < 5; g++) {
#pragma unroll
    for (int j = 0; j < 4; j++) {
      x0 += x1;
      x1 = rg_rotl(x1, R[g & 1][j]) ^ x0;
    }
    x0 += ks[(g + 1) % 3];
    x1 += ks[(g + 2) % 3] + (rg_u32)(g + 1);
  }
  return (rg_i32)x0;
}
`;
