/* Direct 3x3, stride-1, pad-1 convolutions (float32, AVX-512), for the small channel counts
 * of CIFAR ResNets (16..64 channels at 32..16 px), where im2col + GEMM spends more time
 * writing and re-packing the 9x-expanded cols matrix than multiplying. Part of conv.c.
 *
 * Per image, x is first copied into xp, zero-padded by one pixel on every side
 * (C x (H+2) x (W+2)); then with every index in range:
 *   forward      y[o][h][w]       = sum over c, kh, kw of wt[o][c][kh][kw] * xp[c][h+kh][w+kw]
 *   input grad   dx = the forward of dy (padded) with wt'[c][o][kh][kw] = wt[o][c][2-kh][2-kw]
 *                (the adjoint of a 3x3 pad-1 correlation is the correlation with the kernel
 *                flipped in both axes and its channel axes swapped, again with pad 1)
 *   weight grad  dw[o][c][kh][kw] += sum over h, w of dy[o][h][w] * xp[c][h+kh][w+kw]
 * Rows are cut into vectors of 16 pixels (W = 16 or 32), so the pixel axis is the SIMD axis
 * and no index ever needs a bounds test. For W = 8 a vector holds two whole rows; then xp
 * is padded with zero rows only (C x (H+2) x 8), and the loads at kw = 0 and 2, which
 * would read column -1 or 8, i.e. the neighbouring row's last or first pixel, are masked
 * loads that zero those lanes (masked-off lanes never fault).
 *
 * Register tiles (16 and 12 of the 32 zmm registers hold accumulators):
 *   forward: 4 output channels x 4 vectors of pixels (2 rows of 32 or 4 rows of 16); per
 *            (c, kh, kw) 4 pixel loads, 4 weight broadcasts and 16 FMAs.
 *   weight grad: 4 output channels x the 3 kw taps of one (c, kh); per vector of pixels
 *            4 dy loads, 3 (shifted) xp loads and 12 FMAs; each accumulator is summed
 *            across its 16 lanes once per pass (1, 2 or 8 images: d3_wgrad_batch).
 * The empty asm statements pin each loaded vector in a register: without them gcc folds
 * the load into every FMA that uses it (a memory operand), so the forward tile issued 20
 * loads per 16 FMAs and ran load-bound at 65 GFLOP/s a core; pinned, 115 (the measured
 * FMA peak is 117), and the weight grad went from 55 to 105 (16 channels, 32 px). */
#if defined(__x86_64__)
#include <immintrin.h>

static int d3_enabled = -1; /* unknown until the first call; see rg_conv_select */

static int d3_avx512(void) {
  if (d3_enabled < 0) {
    __builtin_cpu_init();
    d3_enabled = __builtin_cpu_supports("avx512f") ? 1 : 0;
    const char *env = getenv("RESGRAD_CPU_CONV"); /* "gemm": always im2col + GEMM */
    if (env && !strcmp(env, "gemm")) d3_enabled = 0;
  }
  return d3_enabled;
}

/* The direct kernels apply: 3x3, stride 1, pad 1 on every side, no dilation, one group,
 * W = 8, 16 or 32 (a tile's 4 vectors are 64 pixels: 8, 4 or 2 whole rows, which H must
 * be a multiple of), and `out_ch` (the channels the forward tile writes) and O (the
 * weight grad's tile) multiples of 4. */
static int d3_applies(const conv_geom *g, int64_t out_ch) {
  if (!d3_avx512()) return 0;
  if (g->KH != 3 || g->KW != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 || g->G != 1) return 0;
  if (g->pt != 1 || g->pl != 1 || g->OH != g->H || g->OW != g->W) return 0;
  if (g->W != 8 && g->W != 16 && g->W != 32) return 0;
  if (g->H % (64 / g->W) != 0) return 0; /* a tile is 64 pixels: whole rows */
  return out_ch % 4 == 0 && g->O % 4 == 0;
}

/* Row stride of the padded image, and its size in floats with 16 of slack in front (the
 * W = 8 kernels' first masked load starts one float before the image). */
static int64_t d3_wp(int64_t W) { return W == 8 ? 8 : W + 2; }
static size_t d3_padded_floats(int64_t C, int64_t H, int64_t W) { return (size_t)(16 + C * (H + 2) * d3_wp(W)); }

/* Pads x (C x H x W) into buf (d3_padded_floats of them): zero rows above and below, and
 * for W > 8 a zero column left and right. Returns the padded image's origin. */
static float *d3_pad(const float *x, int64_t C, int64_t H, int64_t W, float *buf) {
  const int64_t Hp = H + 2, Wp = d3_wp(W), left = W == 8 ? 0 : 1;
  float *xp = buf + 16;
  memset(buf, 0, sizeof(float) * 16);
  /* Only the border is zeroed: the interior is overwritten (a full memset first was a
   * second pass over the padded image). */
  for (int64_t c = 0; c < C; c++) {
    float *img = xp + c * Hp * Wp;
    memset(img, 0, sizeof(float) * (size_t)Wp);
    memset(img + (H + 1) * Wp, 0, sizeof(float) * (size_t)Wp);
    for (int64_t h = 0; h < H; h++) {
      float *row = img + (h + 1) * Wp;
      memcpy(row + left, x + (c * H + h) * W, sizeof(float) * (size_t)W);
      if (left) row[0] = row[W + 1] = 0.0f;
    }
  }
  return xp;
}

/* y (O x H x W) = the 3x3 correlation of xp (C x (H+2) x (W+2)) with wt (O x C x 3 x 3). */
__attribute__((target("avx512f"))) static void d3_fwd_image(const float *xp, const float *wt, float *y, int64_t C, int64_t H,
                                                            int64_t W, int64_t O) {
  const int64_t Hp = H + 2, Wp = W + 2, V = W / 16, R = 4 / V;
  int64_t xoff[4], yoff[4]; /* tile vector t: row t / V, pixels 16 * (t % V) of the rows */
  for (int t = 0; t < 4; t++) {
    xoff[t] = (t / V) * Wp + (t % V) * 16;
    yoff[t] = (t / V) * W + (t % V) * 16;
  }
  for (int64_t o0 = 0; o0 < O; o0 += 4)
    for (int64_t h0 = 0; h0 < H; h0 += R) {
      __m512 acc[4][4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) acc[i][t] = _mm512_setzero_ps();
      for (int64_t c = 0; c < C; c++) {
        const float *xc = xp + c * Hp * Wp + h0 * Wp;
        const float *wc = wt + (o0 * C + c) * 9; /* wt[o0 + i][c] at wc + i * C * 9 */
        for (int kh = 0; kh < 3; kh++)
#pragma GCC unroll 3
          for (int kw = 0; kw < 3; kw++) {
            const float *xs = xc + kh * Wp + kw;
            __m512 xv[4];
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
              xv[t] = _mm512_loadu_ps(xs + xoff[t]);
              __asm__("" : "+v"(xv[t]));
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
              __m512 wb = _mm512_set1_ps(wc[i * C * 9 + kh * 3 + kw]);
#pragma GCC unroll 4
              for (int t = 0; t < 4; t++) acc[i][t] = _mm512_fmadd_ps(wb, xv[t], acc[i][t]);
            }
          }
      }
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) _mm512_storeu_ps(y + (o0 + i) * H * W + h0 * W + yoff[t], acc[i][t]);
    }
}

/* dw (O x C x 3 x 3) += the 3x3 weight gradient of `nimg` images: dy (O x H x W) at
 * dy + k * ds, xp padded at xp + k * xs. */
__attribute__((target("avx512f"))) static void d3_wgrad_image(const float *xp, int64_t xs, const float *dy, int64_t ds,
                                                              int64_t nimg, float *dw, int64_t C, int64_t H, int64_t W,
                                                              int64_t O) {
  const int64_t Hp = H + 2, Wp = W + 2, P = H * W;
  for (int64_t o0 = 0; o0 < O; o0 += 4)
    for (int64_t c = 0; c < C; c++)
      for (int kh = 0; kh < 3; kh++) {
        __m512 acc[4][3];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
          for (int j = 0; j < 3; j++) acc[i][j] = _mm512_setzero_ps();
        for (int64_t k = 0; k < nimg; k++)
        for (int64_t h = 0; h < H; h++) {
          const float *d0 = dy + k * ds + o0 * P;
          const float *xr = xp + k * xs + (c * Hp + h + kh) * Wp;
          for (int64_t v = 0; v < W; v += 16) {
            __m512 xv[3], dv[4];
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++) {
              xv[j] = _mm512_loadu_ps(xr + v + j);
              __asm__("" : "+v"(xv[j]));
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
              dv[i] = _mm512_loadu_ps(d0 + i * P + h * W + v);
              __asm__("" : "+v"(dv[i]));
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
              for (int j = 0; j < 3; j++) acc[i][j] = _mm512_fmadd_ps(dv[i], xv[j], acc[i][j]);
          }
        }
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
          for (int j = 0; j < 3; j++) dw[((o0 + i) * C + c) * 9 + kh * 3 + j] += _mm512_reduce_add_ps(acc[i][j]);
      }
}

/* Lanes kept by the W = 8 loads at kw = 0, 1, 2 (lane i is column i % 8 of its row; column
 * -1 at kw = 0 and column 8 at kw = 2 are padding, hence zero). */
static const __mmask16 d3_w8_mask[3] = {0xFEFE, 0xFFFF, 0x7F7F};

/* As d3_fwd_image for W = 8: vector t of a tile is rows 2t, 2t+1 of 8 rows. */
__attribute__((target("avx512f"))) static void d3_fwd_image_w8(const float *xp, const float *wt, float *y, int64_t C, int64_t H,
                                                               int64_t O) {
  const int64_t Hp = H + 2, W = 8;
  for (int64_t o0 = 0; o0 < O; o0 += 4)
    for (int64_t h0 = 0; h0 < H; h0 += 8) {
      __m512 acc[4][4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) acc[i][t] = _mm512_setzero_ps();
      for (int64_t c = 0; c < C; c++) {
        const float *xc = xp + c * Hp * W + h0 * W;
        const float *wc = wt + (o0 * C + c) * 9;
        for (int kh = 0; kh < 3; kh++)
#pragma GCC unroll 3
          for (int kw = 0; kw < 3; kw++) {
            const float *xs = xc + kh * W + kw - 1;
            __m512 xv[4];
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
              xv[t] = _mm512_maskz_loadu_ps(d3_w8_mask[kw], xs + t * 16);
              __asm__("" : "+v"(xv[t]));
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
              __m512 wb = _mm512_set1_ps(wc[i * C * 9 + kh * 3 + kw]);
#pragma GCC unroll 4
              for (int t = 0; t < 4; t++) acc[i][t] = _mm512_fmadd_ps(wb, xv[t], acc[i][t]);
            }
          }
      }
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) _mm512_storeu_ps(y + (o0 + i) * H * W + h0 * W + t * 16, acc[i][t]);
    }
}

/* As d3_wgrad_image for W = 8, over `nimg` images at once (padded image k at xp + k * xs,
 * its dy at dy + k * ds): each vector is two rows of dy and of the shifted xp. One 8x8
 * image gives an accumulator only 4 vectors, too few to repay its 16-lane sum; 8 images
 * give 32 (measured at 64 channels: one image per pass ran no faster than im2col + GEMM). */
__attribute__((target("avx512f"))) static void d3_wgrad_w8(const float *xp, int64_t xs, const float *dy, int64_t ds,
                                                           int64_t nimg, float *dw, int64_t C, int64_t H, int64_t O) {
  const int64_t Hp = H + 2, W = 8, P = H * W;
  for (int64_t o0 = 0; o0 < O; o0 += 4)
    for (int64_t c = 0; c < C; c++)
      for (int kh = 0; kh < 3; kh++) {
        __m512 acc[4][3];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
          for (int j = 0; j < 3; j++) acc[i][j] = _mm512_setzero_ps();
        for (int64_t k = 0; k < nimg; k++)
        for (int64_t h = 0; h < H; h += 2) {
          const float *d0 = dy + k * ds + o0 * P;
          const float *xr = xp + k * xs + (c * Hp + h + kh) * W - 1;
          __m512 xv[3], dv[4];
#pragma GCC unroll 3
          for (int j = 0; j < 3; j++) {
            xv[j] = _mm512_maskz_loadu_ps(d3_w8_mask[j], xr + j);
            __asm__("" : "+v"(xv[j]));
          }
#pragma GCC unroll 4
          for (int i = 0; i < 4; i++) {
            dv[i] = _mm512_loadu_ps(d0 + i * P + h * W);
            __asm__("" : "+v"(dv[i]));
          }
#pragma GCC unroll 4
          for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++) acc[i][j] = _mm512_fmadd_ps(dv[i], xv[j], acc[i][j]);
        }
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
#pragma GCC unroll 3
          for (int j = 0; j < 3; j++) dw[((o0 + i) * C + c) * 9 + kh * 3 + j] += _mm512_reduce_add_ps(acc[i][j]);
      }
}

/* The forward (and, with flipped weights, the input grad) of one padded image. */
static void d3_fwd(const float *xp, const float *wt, float *y, int64_t C, int64_t H, int64_t W, int64_t O) {
  if (W == 8) d3_fwd_image_w8(xp, wt, y, C, H, O);
  else d3_fwd_image(xp, wt, y, C, H, W, O);
}

/* Images per weight-grad pass: enough that each accumulator sums at least 32 vectors
 * before its 16-lane sum (see d3_wgrad_w8); 32x32 images give 64 on their own. */
static int64_t d3_wgrad_batch(int64_t W) { return W == 8 ? 8 : W == 16 ? 2 : 1; }

/* dw += the weight gradient of `nimg` padded images (image k at xp + k * xs, dy + k * ds). */
static void d3_wgrad(const float *xp, int64_t xs, const float *dy, int64_t ds, int64_t nimg, float *dw, int64_t C, int64_t H,
                     int64_t W, int64_t O) {
  if (W == 8) d3_wgrad_w8(xp, xs, dy, ds, nimg, dw, C, H, O);
  else d3_wgrad_image(xp, xs, dy, ds, nimg, dw, C, H, W, O);
}

#define RG_HAVE_DIRECT3 1
#endif

/* 0: the direct kernels where they apply (and the CPU has AVX-512), 1: im2col + GEMM
 * always. Returns 1 when the direct kernels are now in use (benchmarks and tests). */
RG_EXPORT int rg_conv_select(int which) {
#ifdef RG_HAVE_DIRECT3
  d3_enabled = -1;
  if (d3_avx512() && which == 1) d3_enabled = 0;
  return d3_enabled;
#else
  (void)which;
  return 0;
#endif
}
