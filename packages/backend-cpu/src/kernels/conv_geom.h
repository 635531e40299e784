/* Convolution geometry shared by the im2col + GEMM kernels (conv_impl.h, per element type)
 * and the direct ones (conv_direct.h). Part of conv.c. */
#ifndef RG_CONV_GEOM_H
#define RG_CONV_GEOM_H

#include <stdint.h>

/* From the int32[16] the caller passes: N C H W O KH KW OH OW sh sw pt pl dh dw G (pb, pr
 * are implied by OH, OW); with Cg = C/G input and Og = O/G output channels per group,
 * Kd = Cg*KH*KW and P = OH*OW. */
typedef struct {
  int64_t N, C, H, W, O, KH, KW, OH, OW, sh, sw, pt, pl, dh, dw, G;
  int64_t Cg, Og, Kd, P;
} conv_geom;

static conv_geom conv_geom_of(const int32_t *d) {
  conv_geom g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15], 0, 0, 0, 0};
  g.Cg = g.C / g.G;
  g.Og = g.O / g.G;
  g.Kd = g.Cg * g.KH * g.KW;
  g.P = g.OH * g.OW;
  return g;
}

/* A 1x1, stride-1, unpadded convolution: x itself is the cols matrix. */
static int conv_is_pointwise(const conv_geom *g) {
  return g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->OH == g->H && g->OW == g->W;
}

#endif
