/* conv2d forward, input-gradient and weight-gradient, NCHW input and OIHW weights, as
 * im2col + GEMM. Included once per element type with T (float/double), SFX (name suffix)
 * and GEMM_SERIAL / GEMM_BATCHED defined.
 *
 * With Cg = C/G input and Og = O/G output channels per group, Kd = Cg*KH*KW and P = OH*OW:
 *   cols_g[(c*KH + kh)*KW + kw][oh*OW + ow] = x[n, g*Cg + c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]
 *     (zero outside the image), a Kd x P matrix;
 *   forward:      y[n, g]  (Og x P)  = w_g (Og x Kd) . cols_g
 *   input grad:   dcols_g  (Kd x P)  = w_g^T . dy[n, g],  then dx[n, g] = col2im(dcols_g)
 *                 (the adjoint of im2col: scatter-add back to the pixels read)
 *   weight grad:  dw_g     (Og x Kd) = sum over n of dy[n, g] . cols_g^T
 * ResNet-20's shapes give GEMMs of M = 16..64 output channels by N = 64..1024 pixels by
 * K = 27..576, one per image; the pool runs whole images per thread (batch 128 balances
 * exactly), each with its own im2col buffer. With fewer images than threads, the GEMM
 * itself is split instead. A 1x1, stride-1, unpadded convolution skips im2col: x[n, g]
 * already is cols_g. float32 3x3 stride-1 pad-1 convolutions on AVX-512 machines (all but
 * three of ResNet-20's) take the direct kernels of conv_direct.h instead (`direct`).
 *
 * Epilogues. The forward and the input gradient take an optional `epi` task (generated code:
 * a BatchNorm affine, a ReLU, a residual add, ...) that rewrites a flat range of the output in
 * place; it runs on each image's output right after the thread has computed it, while the
 * image (16 to 64 KB in ResNet-20) is still in this core's cache, instead of a later kernel
 * streaming the whole batch back from memory. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

/* cols (Kd x P) from the Cg channels at x (one image, one group). */
static void FN(im2col)(const conv_geom * g, const T *x, T *cols) {
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        T *dst = cols + ((c * g->KH + kh) * g->KW + kw) * g->P;
        const T *src = x + c * g->H * g->W;
        /* ow range whose iw = ow*sw - pl + kw*dw lies in [0, W) */
        int64_t off = kw * g->dw - g->pl;
        int64_t lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
        int64_t hi = (g->W - off + g->sw - 1) / g->sw; /* first ow with iw >= W */
        if (hi > g->OW) hi = g->OW;
        if (hi < 0) hi = 0;
        if (lo > hi) lo = hi;
        for (int64_t oh = 0; oh < g->OH; oh++, dst += g->OW) {
          int64_t ih = oh * g->sh - g->pt + kh * g->dh;
          if (ih < 0 || ih >= g->H) {
            memset(dst, 0, sizeof(T) * (size_t)g->OW);
            continue;
          }
          const T *row = src + ih * g->W + off;
          for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
          if (g->sw == 1) memcpy(dst + lo, row + lo, sizeof(T) * (size_t)(hi - lo));
          else
            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = row[ow * g->sw];
          for (int64_t ow = hi; ow < g->OW; ow++) dst[ow] = 0;
        }
      }
}

/* dx (Cg channels of one image) += col2im(dcols): the transpose of im2col. */
static void FN(col2im)(const conv_geom * g, const T *dcols, T *dx) {
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < g->KH; kh++)
      for (int64_t kw = 0; kw < g->KW; kw++) {
        const T *src = dcols + ((c * g->KH + kh) * g->KW + kw) * g->P;
        T *img = dx + c * g->H * g->W;
        int64_t off = kw * g->dw - g->pl;
        int64_t lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
        int64_t hi = (g->W - off + g->sw - 1) / g->sw;
        if (hi > g->OW) hi = g->OW;
        if (hi < 0) hi = 0;
        if (lo > hi) lo = hi;
        for (int64_t oh = 0; oh < g->OH; oh++, src += g->OW) {
          int64_t ih = oh * g->sh - g->pt + kh * g->dh;
          if (ih < 0 || ih >= g->H) continue;
          T *row = img + ih * g->W + off;
          if (g->sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) row[ow] += src[ow];
          else
            for (int64_t ow = lo; ow < hi; ow++) row[ow * g->sw] += src[ow];
        }
      }
}

typedef struct {
  conv_geom g;
  const T *a;   /* x (forward, weight grad) or dy (input grad) */
  const T *b;   /* w (forward, input grad) or dy (weight grad) */
  T *out;       /* y, dx, or the per-thread partial dw (weight grad) */
  int split_gemm; /* fewer images than threads: threads split each GEMM instead */
  int direct;     /* float32 3x3 stride-1 pad-1 shapes: conv_direct.h's kernels */
  rg_task_fn epi; /* applied per image (forward, input grad) or NULL */
  void *epi_ctx;
} FN(conv_job);

/* The epilogue over image n's output (`per` elements an image), unless it runs later over
 * the whole batch (split_gemm: the threads are inside the GEMM). */
static void FN(conv_epi_image)(const FN(conv_job) *j, int64_t n, int64_t per, int tid) {
  if (j->epi && !j->split_gemm) j->epi(j->epi_ctx, n * per, (n + 1) * per, tid);
}

/* Forward for images [n0, n1). */
static void FN(conv_fwd_task)(void *ctx, int64_t n0, int64_t n1, int tid) {
  const FN(conv_job) *j = ctx;
  const conv_geom *g = &j->g;
#if DIRECT3
  if (j->direct) {
    T *buf = rg_scratch(3, sizeof(T) * d3_padded_floats(g->C, g->H, g->W));
    for (int64_t n = n0; n < n1; n++) {
      const T *xp = d3_pad(j->a + n * g->C * g->H * g->W, g->C, g->H, g->W, buf);
      d3_fwd(xp, j->b, j->out + n * g->O * g->P, g->C, g->H, g->W, g->O);
      FN(conv_epi_image)(j, n, g->O * g->P, tid);
    }
    return;
  }
#endif
  int pw = conv_is_pointwise(g);
  T *cols = pw ? NULL : rg_scratch(2, sizeof(T) * (size_t)(g->Kd * g->P));
  for (int64_t n = n0; n < n1; n++) {
    for (int64_t gr = 0; gr < g->G; gr++) {
      const T *x = j->a + (n * g->C + gr * g->Cg) * g->H * g->W;
      if (!pw) FN(im2col)(g, x, cols);
      const T *w = j->b + gr * g->Og * g->Kd;
      T *y = j->out + (n * g->O + gr * g->Og) * g->P;
      const T *B = pw ? x : cols;
      if (j->split_gemm) GEMM_BATCHED(1, g->Og, g->P, g->Kd, w, g->Kd, 0, 0, B, g->P, 0, 0, y, g->P, 0, 0);
      else GEMM_SERIAL(g->Og, g->P, g->Kd, w, g->Kd, 1, B, g->P, 1, y, g->P, 0);
    }
    FN(conv_epi_image)(j, n, g->O * g->P, tid);
  }
}

/* Input gradient for images [n0, n1). */
static void FN(conv_dx_task)(void *ctx, int64_t n0, int64_t n1, int tid) {
  const FN(conv_job) *j = ctx;
  const conv_geom *g = &j->g;
#if DIRECT3
  if (j->direct) { /* j->b holds the flipped, channel-swapped weights (C x O x 3 x 3) */
    T *buf = rg_scratch(3, sizeof(T) * d3_padded_floats(g->O, g->H, g->W));
    for (int64_t n = n0; n < n1; n++) {
      const T *dyp = d3_pad(j->a + n * g->O * g->P, g->O, g->H, g->W, buf);
      d3_fwd(dyp, j->b, j->out + n * g->C * g->H * g->W, g->O, g->H, g->W, g->C);
      FN(conv_epi_image)(j, n, g->C * g->H * g->W, tid);
    }
    return;
  }
#endif
  int pw = conv_is_pointwise(g);
  T *dcols = pw ? NULL : rg_scratch(2, sizeof(T) * (size_t)(g->Kd * g->P));
  for (int64_t n = n0; n < n1; n++) {
    for (int64_t gr = 0; gr < g->G; gr++) {
      const T *dy = j->a + (n * g->O + gr * g->Og) * g->P;
      const T *w = j->b + gr * g->Og * g->Kd;
      T *dx = j->out + (n * g->C + gr * g->Cg) * g->H * g->W;
      /* w_g^T: the Kd x Og matrix whose (i, k) is w[k*Kd + i] (transposed A). */
      T *C = pw ? dx : dcols;
      if (j->split_gemm) GEMM_BATCHED(1, g->Kd, g->P, g->Og, w, g->Kd, 0, 1, dy, g->P, 0, 0, C, g->P, 0, 0);
      else GEMM_SERIAL(g->Kd, g->P, g->Og, w, 1, g->Kd, dy, g->P, 1, C, g->P, 0);
      if (!pw) {
        memset(dx, 0, sizeof(T) * (size_t)(g->Cg * g->H * g->W));
        FN(col2im)(g, dcols, dx);
      }
    }
    FN(conv_epi_image)(j, n, g->C * g->H * g->W, tid);
  }
}

/* Weight gradient: thread tid sums images [n0, n1) into its own partial dw. */
static void FN(conv_dw_task)(void *ctx, int64_t n0, int64_t n1, int tid) {
  const FN(conv_job) *j = ctx;
  const conv_geom *g = &j->g;
  T *dw = j->out + (int64_t)tid * g->O * g->Kd;
#if DIRECT3
  if (j->direct) {
    const int64_t nb = d3_wgrad_batch(g->W), per = (int64_t)d3_padded_floats(g->C, g->H, g->W);
    T *buf = rg_scratch(3, sizeof(T) * (size_t)(per * nb));
    memset(dw, 0, sizeof(T) * (size_t)(g->O * g->Kd));
    for (int64_t n = n0; n < n1; n += nb) {
      const int64_t m = RG_MIN(nb, n1 - n);
      const T *xp = NULL;
      for (int64_t k = 0; k < m; k++) {
        const T *p = d3_pad(j->a + (n + k) * g->C * g->H * g->W, g->C, g->H, g->W, buf + k * per);
        if (k == 0) xp = p;
      }
      d3_wgrad(xp, per, j->b + n * g->O * g->P, g->O * g->P, m, dw, g->C, g->H, g->W, g->O);
    }
    return;
  }
#endif
  int pw = conv_is_pointwise(g);
  T *cols = pw ? NULL : rg_scratch(2, sizeof(T) * (size_t)(g->Kd * g->P));
  for (int64_t n = n0; n < n1; n++)
    for (int64_t gr = 0; gr < g->G; gr++) {
      const T *x = j->a + (n * g->C + gr * g->Cg) * g->H * g->W;
      const T *dy = j->b + (n * g->O + gr * g->Og) * g->P;
      if (!pw) FN(im2col)(g, x, cols);
      const T *B = pw ? x : cols;
      /* cols^T: the P x Kd matrix whose (k, j) is cols[j*P + k] (transposed B). */
      int acc = n > n0;
      if (j->split_gemm)
        GEMM_BATCHED(1, g->Og, g->Kd, g->P, dy, g->P, 0, 0, B, g->P, 0, 1, dw + gr * g->Og * g->Kd, g->Kd, 0, acc);
      else GEMM_SERIAL(g->Og, g->Kd, g->P, dy, g->P, 1, B, 1, g->P, dw + gr * g->Og * g->Kd, g->Kd, acc);
    }
}

/* The epilogue over the whole output, after a split-GEMM run. */
static void FN(conv_epi_all)(const FN(conv_job) *j, int64_t total) {
  if (j->epi && j->split_gemm) rg_parallel_for(total, j->epi, j->epi_ctx);
}

/* y = conv2d(x, w), then epi (or NULL) over y. dims: see conv_geom. */
static void FN(conv2d_ep)(const int32_t *dims, const T *x, const T *w, T *y, rg_task_fn epi, void *epi_ctx) {
  FN(conv_job) j = {conv_geom_of(dims), x, w, y, 0, 0, epi, epi_ctx};
#if DIRECT3
  j.direct = j.g.N >= rg_pool_threads() && d3_applies(&j.g, j.g.O);
#endif
  if (j.g.N < rg_pool_threads()) {
    j.split_gemm = 1;
    FN(conv_fwd_task)(&j, 0, j.g.N, 0);
    FN(conv_epi_all)(&j, j.g.N * j.g.O * j.g.P);
  } else rg_parallel_for(j.g.N, FN(conv_fwd_task), &j);
}

RG_EXPORT void FN(rg_conv2d)(const int32_t *dims, const T *x, const T *w, T *y) { FN(conv2d_ep)(dims, x, w, y, NULL, NULL); }

/* dx = conv2dInputGrad(dy, w), dx of shape [N, C, H, W], then epi (or NULL) over dx. */
static void FN(conv2d_input_grad_ep)(const int32_t *dims, const T *dy, const T *w, T *dx, rg_task_fn epi, void *epi_ctx) {
  FN(conv_job) j = {conv_geom_of(dims), dy, w, dx, 0, 0, epi, epi_ctx};
#if DIRECT3
  if (j.g.N >= rg_pool_threads() && d3_applies(&j.g, j.g.C)) {
    /* wt'[c][o][kh][kw] = w[o][c][2-kh][2-kw] (see conv_direct.h) */
    T *wt = rg_alloc(sizeof(T) * (size_t)(j.g.O * j.g.Kd));
    if (wt) {
      for (int64_t o = 0; o < j.g.O; o++)
        for (int64_t c = 0; c < j.g.C; c++)
          for (int k = 0; k < 9; k++) wt[(c * j.g.O + o) * 9 + k] = w[(o * j.g.C + c) * 9 + (8 - k)];
      j.b = wt;
      j.direct = 1;
      rg_parallel_for(j.g.N, FN(conv_dx_task), &j);
      rg_free(wt);
      return;
    }
  }
#endif
  if (j.g.N < rg_pool_threads()) {
    j.split_gemm = 1;
    FN(conv_dx_task)(&j, 0, j.g.N, 0);
    FN(conv_epi_all)(&j, j.g.N * j.g.C * j.g.H * j.g.W);
  } else rg_parallel_for(j.g.N, FN(conv_dx_task), &j);
}

RG_EXPORT void FN(rg_conv2d_input_grad)(const int32_t *dims, const T *dy, const T *w, T *dx) {
  FN(conv2d_input_grad_ep)(dims, dy, w, dx, NULL, NULL);
}

typedef struct {
  const T *parts;
  T *dw;
  int64_t size, nparts;
} FN(sum_job);

static void FN(sum_parts_task)(void *ctx, int64_t b, int64_t e, int tid) {
  (void)tid;
  const FN(sum_job) *s = ctx;
  for (int64_t i = b; i < e; i++) {
    T acc = 0;
    for (int64_t p = 0; p < s->nparts; p++) acc += s->parts[p * s->size + i];
    s->dw[i] = acc;
  }
}

/* dw = conv2dWeightGrad(x, dy), dw of shape [O, C/G, KH, KW]. Each thread sums its images
 * into a private copy (no atomics, deterministic for a given thread count); the copies are
 * then added. */
RG_EXPORT void FN(rg_conv2d_weight_grad)(const int32_t *dims, const T *x, const T *dy, T *dw) {
  FN(conv_job) j = {conv_geom_of(dims), x, dy, dw, 0, 0, NULL, NULL};
  int threads = rg_pool_threads();
#if DIRECT3
  j.direct = j.g.N >= threads && d3_applies(&j.g, j.g.O);
#endif
  int64_t size = j.g.O * j.g.Kd;
  if (j.g.N < threads || threads == 1) {
    j.split_gemm = threads > 1;
    FN(conv_dw_task)(&j, 0, j.g.N, 0);
    return;
  }
  T *parts = rg_alloc(sizeof(T) * (size_t)(size * threads));
  if (!parts) { /* out of memory: fall back to one thread writing dw directly */
    FN(conv_dw_task)(&j, 0, j.g.N, 0);
    return;
  }
  j.out = parts;
  rg_parallel_for(j.g.N, FN(conv_dw_task), &j);
  FN(sum_job) s = {parts, dw, size, threads};
  if (size * threads > 65536) rg_parallel_for(size, FN(sum_parts_task), &s);
  else FN(sum_parts_task)(&s, 0, size, 0);
  rg_free(parts);
}

#undef FN
