/* SGEMM micro-kernels: C[MR x NR] (+)= sum over k of a[k][0..MR) (outer) b[k][0..NR),
 * reading packed panels: `a` holds MR floats per k, `b` holds NR floats per k (both
 * contiguous, 64-byte aligned). The accumulators stay in registers for the whole k loop,
 * so each k costs NR/W vector loads, MR broadcasts and MR*NR/W FMAs (W = lanes).
 *
 * The SIMD kernels carry target attributes, so one object built with portable flags still
 * holds them; rg_gemm_pick() chooses among them at run time with __builtin_cpu_supports. */
#ifndef RG_GEMM_UKERNELS_H
#define RG_GEMM_UKERNELS_H

#include "rg_common.h"

typedef void (*rg_ukr_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate);

typedef struct {
  int mr, nr;
  rg_ukr_fn fn;
  const char *name;
} rg_ukr;

/* Portable: plain C the compiler vectorises for whatever -march it was given. */
#define PORT_MR 4
#define PORT_NR 16
static void ukr_portable(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate) {
  float acc[PORT_MR][PORT_NR] = {{0}};
  for (int64_t k = 0; k < kc; k++, a += PORT_MR, b += PORT_NR)
    for (int r = 0; r < PORT_MR; r++)
      for (int j = 0; j < PORT_NR; j++) acc[r][j] += a[r] * b[j];
  for (int r = 0; r < PORT_MR; r++)
    for (int j = 0; j < PORT_NR; j++) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + acc[r][j];
}

#if defined(__x86_64__)
#include <immintrin.h>

/* AVX2+FMA 6x16: 12 ymm accumulators + 2 for B + 1 broadcast = 15 of the 16 registers. */
__attribute__((target("avx2,fma"))) static void ukr_avx2_6x16(int64_t kc, const float *a, const float *b, float *c,
                                                               int64_t ldc, int accumulate) {
  __m256 acc[6][2];
#pragma GCC unroll 6
  for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) {
      __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < 6; r++) {
    float *cr = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(cr));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, acc[r][0]);
    _mm256_storeu_ps(cr + 8, acc[r][1]);
  }
}

/* AVX-512 8x32: 16 zmm accumulators; per k two loads of B and eight broadcasts of A (which
 * the compiler folds into the FMAs as {1to16} memory operands). 16 independent FMA chains
 * cover the FMA latency (4 cycles) times the issue width (up to 2 zmm FMAs per cycle). */
#define AVX512_MR 8
__attribute__((target("avx512f,fma"))) static void ukr_avx512_8x32(int64_t kc, const float *a, const float *b, float *c,
                                                                    int64_t ldc, int accumulate) {
  __m512 acc[AVX512_MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < AVX512_MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += AVX512_MR, b += 32) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 8
    for (int r = 0; r < AVX512_MR; r++) {
      __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < AVX512_MR; r++) {
    float *cr = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(cr));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(cr + 16));
    }
    _mm512_storeu_ps(cr, acc[r][0]);
    _mm512_storeu_ps(cr + 16, acc[r][1]);
  }
}
#endif

static const rg_ukr rg_ukr_table[] = {
    {PORT_MR, PORT_NR, ukr_portable, "portable-4x16"},
#if defined(__x86_64__)
    {6, 16, ukr_avx2_6x16, "avx2-6x16"},
    {AVX512_MR, 32, ukr_avx512_8x32, "avx512-8x32"},
#endif
};

#endif
