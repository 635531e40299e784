/* GEMM: C = op(A) op(B) (+ C), row-major, batched, on the pool.
 *
 * float32 follows the GotoBLAS/BLIS blocking:
 *   for jc (NC columns of C)            B block  KC x NC packed once per (jc, pc): L3 / L2
 *     for pc (KC of the k dimension)
 *       for ic (MC rows of C)           A block  MC x KC packed: L2
 *         for jr (NR), for ir (MR)      micro-kernel: MR x NR accumulators in registers,
 *                                       its B micro-panel (KC x NR) stays in L1
 * Operands are read through (row, column) strides, so a transposed A or B is only a
 * different stride pair for the packing routines: dot's VJPs (dC B^T, A^T dC) copy nothing.
 * Packing pads the last panels with zeros; a partial tile is computed into a local
 * MR x NR buffer and then added to C, so the micro-kernels only ever see full tiles.
 *
 * float64 takes a simple portable path (i-k-j loops the compiler vectorises): it serves
 * gradient checks, not training. */
#include "gemm_ukernels.h"
#include "rg_common.h"

#include <stdlib.h>
#include <string.h>

/* Blocking sizes (in elements). KC*NR*4 bytes (the B micro-panel) fits L1 with room for A;
 * MC*KC*4 (A block) fits L2; KC*NC*4 (B block) fits a share of L2/L3. */
#ifndef RG_KC
#define RG_KC 256
#endif
#ifndef RG_MC
#define RG_MC 144
#endif
#ifndef RG_NC
#define RG_NC 2048
#endif

static const rg_ukr *ukr_current;

/* 0 = best available, 1 = portable, 2 = avx2, 3 = avx512. Returns the name chosen, or NULL
 * when the CPU lacks the requested one (tests use this to check every variant). */
RG_EXPORT const char *rg_gemm_select(int which) {
  int best = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  int has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f");
  best = has_avx512 ? 2 : has_avx2 ? 1 : 0;
  if (which == 2 && !has_avx2) return NULL;
  if (which == 3 && !has_avx512) return NULL;
#else
  if (which >= 2) return NULL;
#endif
  int idx = which == 0 ? best : which - 1;
  ukr_current = &rg_ukr_table[idx];
  return ukr_current->name;
}

static const rg_ukr *ukr(void) {
  if (!ukr_current) {
    const char *env = getenv("RESGRAD_CPU_GEMM"); /* portable | avx2 | avx512 */
    int which = 0;
    if (env && !strcmp(env, "portable")) which = 1;
    if (env && !strcmp(env, "avx2")) which = 2;
    if (env && !strcmp(env, "avx512")) which = 3;
    if (!rg_gemm_select(which)) rg_gemm_select(0);
  }
  return ukr_current;
}

RG_EXPORT const char *rg_gemm_kernel_name(void) { return ukr()->name; }

/* Packs A[i0:i0+mc, p0:p0+kc] into MR-row micro-panels: panel q holds, for each k, the MR
 * values A(i0+q*MR+r, p0+k), zero past row mc. */
static void pack_a(const float *A, int64_t rs, int64_t cs, int64_t mc, int64_t kc, int mr, float *dst) {
  for (int64_t i = 0; i < mc; i += mr) {
    int64_t m = RG_MIN(mr, mc - i);
    const float *src = A + i * rs;
    if (cs == 1 && m == mr) {
      /* Row by row: contiguous reads. (k-major would read MR rows per k; with power-of-two
       * row strides those share one L1 set.) */
      for (int r = 0; r < mr; r++)
        for (int64_t k = 0; k < kc; k++) dst[k * mr + r] = src[r * rs + k];
    } else {
      for (int64_t k = 0; k < kc; k++)
        for (int r = 0; r < mr; r++) dst[k * mr + r] = r < m ? src[r * rs + k * cs] : 0.0f;
    }
    dst += kc * mr;
  }
}

/* Packs B[p0:p0+kc, j0:j0+nc] into NR-column micro-panels: panel q holds, for each k, the
 * NR values B(p0+k, j0+q*NR+j), zero past column nc. */
static void pack_b(const float *B, int64_t rs, int64_t cs, int64_t kc, int64_t nc, int nr, float *dst) {
  for (int64_t j = 0; j < nc; j += nr) {
    int64_t n = RG_MIN(nr, nc - j);
    const float *src = B + j * cs;
    if (cs == 1 && n == nr) {
      for (int64_t k = 0; k < kc; k++) memcpy(dst + k * nr, src + k * rs, sizeof(float) * (size_t)nr);
    } else if (rs == 1 && n == nr) {
      /* Transposed B (conv weight-grad's cols^T, dot's B^T): walk each stored row, which is
       * a column of B, contiguously. Reading k-major instead would touch NR rows per k, and
       * with power-of-two row strides (1024 pixels = 4 KiB) they all fall in one L1 set. */
      for (int c = 0; c < nr; c++)
        for (int64_t k = 0; k < kc; k++) dst[k * nr + c] = src[k + c * cs];
    } else if (n == nr) {
      for (int64_t k = 0; k < kc; k++)
        for (int c = 0; c < nr; c++) dst[k * nr + c] = src[k * rs + c * cs];
    } else {
      for (int64_t k = 0; k < kc; k++)
        for (int c = 0; c < nr; c++) dst[k * nr + c] = c < n ? src[k * rs + c * cs] : 0.0f;
    }
    dst += kc * nr;
  }
}

/* One thread's GEMM: C[M x N] (+)= A(M x K) B(K x N) with A(i,k) = A[i*rsa + k*csa] and
 * B(k,j) = B[k*rsb + j*csb]. Uses this thread's scratch slots 0 and 1. */
static void sgemm_serial(int64_t M, int64_t N, int64_t K, const float *A, int64_t rsa, int64_t csa, const float *B,
                         int64_t rsb, int64_t csb, float *C, int64_t ldc, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, sizeof(float) * (size_t)N);
    return;
  }
  const rg_ukr *u = ukr();
  const int mr = u->mr, nr = u->nr;
  const int64_t nc_max = RG_MIN(RG_NC, (N + nr - 1) / nr * nr);
  const int64_t mc_max = RG_MIN(RG_MC / mr * mr, (M + mr - 1) / mr * mr);
  const int64_t kc_max = RG_MIN(RG_KC, K);
  float *bp = rg_scratch(1, sizeof(float) * (size_t)(kc_max * nc_max));
  float *ap = rg_scratch(0, sizeof(float) * (size_t)(kc_max * (mc_max > 0 ? mc_max : mr)));
  float tile[32 * 32] __attribute__((aligned(64)));

  for (int64_t jc = 0; jc < N; jc += RG_NC) {
    int64_t nc = RG_MIN(RG_NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += RG_KC) {
      int64_t kc = RG_MIN(RG_KC, K - pc);
      int acc = accumulate || pc > 0;
      pack_b(B + pc * rsb + jc * csb, rsb, csb, kc, nc, nr, bp);
      for (int64_t ic = 0; ic < M; ic += mc_max) {
        int64_t mc = RG_MIN(mc_max, M - ic);
        pack_a(A + ic * rsa + pc * csa, rsa, csa, mc, kc, mr, ap);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          int64_t n = RG_MIN(nr, nc - jr);
          const float *bpanel = bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            int64_t m = RG_MIN(mr, mc - ir);
            float *c = C + (ic + ir) * ldc + jc + jr;
            const float *apanel = ap + ir * kc;
            if (m == mr && n == nr) {
              u->fn(kc, apanel, bpanel, c, ldc, acc);
            } else {
              u->fn(kc, apanel, bpanel, tile, nr, 0);
              for (int64_t r = 0; r < m; r++)
                for (int64_t j = 0; j < n; j++) c[r * ldc + j] = (acc ? c[r * ldc + j] : 0.0f) + tile[r * nr + j];
            }
          }
        }
      }
    }
  }
}

static void dgemm_serial(int64_t M, int64_t N, int64_t K, const double *A, int64_t rsa, int64_t csa, const double *B,
                         int64_t rsb, int64_t csb, double *C, int64_t ldc, int accumulate) {
  for (int64_t i = 0; i < M; i++) {
    double *c = C + i * ldc;
    if (!accumulate) memset(c, 0, sizeof(double) * (size_t)N);
    for (int64_t k = 0; k < K; k++) {
      double a = A[i * rsa + k * csa];
      const double *b = B + k * rsb;
      if (csb == 1)
        for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
      else
        for (int64_t j = 0; j < N; j++) c[j] += a * b[j * csb];
    }
  }
}

/* ---- the batched, threaded entry points ---- */

typedef struct {
  int64_t M, N, K, lda, ldb, ldc, sa, sb, sc;
  int ta, tb, accumulate, elem; /* elem: 4 = float, 8 = double */
  const void *A, *B;
  void *C;
  int64_t tm, tn; /* each matrix is split into tm x tn tiles of rows x columns */
  int64_t mstep, nstep;
} gemm_job;

static void gemm_task(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const gemm_job *g = ctx;
  const int64_t per = g->tm * g->tn;
  for (int64_t t = begin; t < end; t++) {
    int64_t b = t / per, r = t % per;
    int64_t i0 = (r / g->tn) * g->mstep, j0 = (r % g->tn) * g->nstep;
    int64_t m = RG_MIN(g->mstep, g->M - i0), n = RG_MIN(g->nstep, g->N - j0);
    if (m <= 0 || n <= 0) continue;
    /* op(A)(i,k): A[i*lda + k] or, transposed, A[k*lda + i]; likewise B. */
    int64_t rsa = g->ta ? 1 : g->lda, csa = g->ta ? g->lda : 1;
    int64_t rsb = g->tb ? 1 : g->ldb, csb = g->tb ? g->ldb : 1;
    if (g->elem == 4) {
      const float *A = (const float *)g->A + b * g->sa, *B = (const float *)g->B + b * g->sb;
      float *C = (float *)g->C + b * g->sc;
      sgemm_serial(m, n, g->K, A + i0 * rsa, rsa, csa, B + j0 * csb, rsb, csb, C + i0 * g->ldc + j0, g->ldc, g->accumulate);
    } else {
      const double *A = (const double *)g->A + b * g->sa, *B = (const double *)g->B + b * g->sb;
      double *C = (double *)g->C + b * g->sc;
      dgemm_serial(m, n, g->K, A + i0 * rsa, rsa, csa, B + j0 * csb, rsb, csb, C + i0 * g->ldc + j0, g->ldc, g->accumulate);
    }
  }
}

/* Splits the work so that every thread has a share: whole matrices when the batch is
 * large enough, otherwise column (then row) slabs aligned to the micro-tile, so tiles
 * never straddle a micro-panel. Small problems stay on one thread: a region costs about
 * a microsecond, which a GEMM under ~64 kFLOP does not repay. */
static void gemm_run(gemm_job *g, int64_t batch) {
  const rg_ukr *u = ukr();
  int threads = rg_pool_threads();
  double flops = 2.0 * (double)batch * (double)g->M * (double)g->N * (double)g->K;
  g->tm = g->tn = 1;
  g->mstep = g->M;
  g->nstep = g->N;
  if (threads > 1 && batch < threads && flops > 65536.0) {
    int64_t want = (threads + batch - 1) / batch;
    int64_t npanels = (g->N + u->nr - 1) / u->nr, mpanels = (g->M + u->mr - 1) / u->mr;
    if (npanels >= want) {
      g->tn = want;
      g->nstep = (npanels + want - 1) / want * u->nr;
    } else {
      g->tn = npanels;
      g->nstep = u->nr;
      int64_t wm = (want + g->tn - 1) / g->tn;
      g->tm = RG_MIN(wm, mpanels);
      g->mstep = (mpanels + g->tm - 1) / g->tm * u->mr;
    }
  }
  int64_t tasks = batch * g->tm * g->tn;
  if (flops <= 65536.0) gemm_task(g, 0, tasks, 0);
  else rg_parallel_for(tasks, gemm_task, g);
}

/* C[b] = op(A[b]) op(B[b]) (+ C[b] when accumulate), b < batch; op transposes when ta/tb.
 * A is M x K (K x M stored when ta) with row stride lda; B is K x N (N x K when tb) with
 * row stride ldb; C is M x N with row stride ldc; sa, sb, sc are the batch strides (0
 * repeats one matrix across the batch). All in elements. */
RG_EXPORT void rg_sgemm(int64_t batch, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, int64_t sa, int ta,
                        const float *B, int64_t ldb, int64_t sb, int tb, float *C, int64_t ldc, int64_t sc, int accumulate) {
  gemm_job g = {M, N, K, lda, ldb, ldc, sa, sb, sc, ta, tb, accumulate, 4, A, B, C, 1, 1, M, N};
  gemm_run(&g, batch);
}

RG_EXPORT void rg_dgemm(int64_t batch, int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, int64_t sa, int ta,
                        const double *B, int64_t ldb, int64_t sb, int tb, double *C, int64_t ldc, int64_t sc, int accumulate) {
  gemm_job g = {M, N, K, lda, ldb, ldc, sa, sb, sc, ta, tb, accumulate, 8, A, B, C, 1, 1, M, N};
  gemm_run(&g, batch);
}
