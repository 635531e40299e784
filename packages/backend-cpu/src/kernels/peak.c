/* The machine's measured FMA peak, for benchmarks: each call runs `iters` rounds of
 * RG_PEAK_CHAINS independent vector FMA chains (enough to cover latency x throughput on
 * current x86 cores) on every thread of the pool and returns the flops done (2 per lane
 * per FMA). The result feeds a sink so the loop is not optimised away. */
#include "rg_common.h"

#define RG_PEAK_CHAINS 16

static volatile float peak_sink;

static void peak_portable(int64_t iters) {
  float acc[RG_PEAK_CHAINS][16];
  for (int c = 0; c < RG_PEAK_CHAINS; c++)
    for (int l = 0; l < 16; l++) acc[c][l] = (float)(c + l);
  for (int64_t i = 0; i < iters; i++)
    for (int c = 0; c < RG_PEAK_CHAINS; c++)
      for (int l = 0; l < 16; l++) acc[c][l] = acc[c][l] * 0.999999f + 1e-7f;
  float s = 0;
  for (int c = 0; c < RG_PEAK_CHAINS; c++) s += acc[c][0];
  peak_sink = s;
}

#if defined(__x86_64__)
__attribute__((target("avx512f,fma"))) static void peak_avx512(int64_t iters) {
  __m512 acc[RG_PEAK_CHAINS];
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int c = 0; c < RG_PEAK_CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 16
    for (int c = 0; c < RG_PEAK_CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
  }
  __m512 s = acc[0];
  for (int c = 1; c < RG_PEAK_CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
  peak_sink = _mm512_reduce_add_ps(s);
}

/* 12 chains: the 16 ymm registers hold 12 accumulators and the two constants. */
__attribute__((target("avx2,fma"))) static void peak_avx2(int64_t iters) {
  __m256 acc[12];
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int c = 0; c < 12; c++) acc[c] = _mm256_set1_ps((float)c);
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < 12; c++) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
  }
  __m256 s = acc[0];
  for (int c = 1; c < 12; c++) s = _mm256_add_ps(s, acc[c]);
  float out[8];
  _mm256_storeu_ps(out, s);
  peak_sink = out[0];
}
#endif

typedef struct {
  int64_t iters;
  int isa;
} peak_job;

static double peak_flops_per_iter(int isa) { return isa == 2 ? 2.0 * 16 * RG_PEAK_CHAINS : isa == 1 ? 2.0 * 8 * 12 : 2.0 * 16 * RG_PEAK_CHAINS; }

static void peak_run(int isa, int64_t iters) {
#if defined(__x86_64__)
  if (isa == 2) return peak_avx512(iters);
  if (isa == 1) return peak_avx2(iters);
#endif
  (void)isa;
  peak_portable(iters);
}

static void peak_task(void *ctx, int64_t b, int64_t e, int tid) {
  (void)tid;
  const peak_job *p = ctx;
  for (int64_t i = b; i < e; i++) peak_run(p->isa, p->iters);
}

/* Runs the loop on one thread (all_threads = 0) or on every pool thread at once; returns
 * the flops performed. isa: 0 portable, 1 avx2, 2 avx512 (the caller checks support). */
RG_EXPORT double rg_fma_peak(int isa, int64_t iters, int all_threads) {
  peak_job p = {iters, isa};
  int64_t n = all_threads ? rg_pool_threads() : 1;
  if (all_threads) rg_parallel_for(n, peak_task, &p);
  else peak_task(&p, 0, 1, 0);
  return (double)n * (double)iters * peak_flops_per_iter(isa);
}
